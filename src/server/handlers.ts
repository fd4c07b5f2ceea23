/**
 * The dispatch table: one handler per request type, all with the same
 * signature and shape (decode, check, act, reply). The capability list sent
 * in `Welcome` is derived from this table.
 *
 * @module
 */

import {
  DEFAULT_CHUNK_SIZE,
  MAX_BATCH_BYTES,
  MAX_LISTING_ENTRIES,
  MESSAGE_TYPE,
} from "../protocol/constants.ts";
import {
  decode,
  encode,
  entryMessages,
  type Frame,
  Messages,
  MODE_CAPABILITY,
  SYMLINK_CAPABILITY,
  type WireEntry,
} from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import { ZSTD_CAPABILITY } from "../protocol/compression.ts";
import { type EntryInfo, StorageError } from "../storage/storage.ts";
import type { RequestContext, RequestHandler } from "./request_context.ts";
import { handleRead } from "./downloads.ts";
import { handleWrite, handleWriteFile, handleWriteFileIf, handleWriteIf } from "./uploads.ts";
import { handleWriteFiles, handleWriteFilesIf } from "./batch_uploads.ts";
import { handleReadFiles } from "./batch_downloads.ts";
import { handleDiscardPartials, handleListPartials } from "./partial_handlers.ts";
import { handleChanges, handleListTree, handleRemoveIf, handleRenameIf } from "./sync_handlers.ts";

/** Listing frames stay well under the frame limit. */
const LISTING_FRAME_BUDGET = 512 * 1024;

async function handleList(context: RequestContext, frame: Frame) {
  const { path } = decode(Messages.List, frame);
  const target = context.resolve(path);
  const entries = (await context.storage.list(target)).map((entry) => wireEntry(context, entry));
  const { Listing } = entryMessages(context.modes);
  for (const [batch, more] of listingBatches(entries, context.modes)) {
    await context.reply(encode(Listing, frame.id, { entries: batch, more }));
  }
  return { path: target };
}

/** An entry as this client may see it: a symlink is kind 3 (other) unless it lists `symlink`. */
function wireEntry(context: RequestContext, entry: EntryInfo): WireEntry {
  return entry.kind === "symlink" && !context.symlinks ? { ...entry, kind: "other" } : entry;
}

/** Splits a listing into frames bounded by entry count and bytes. */
function* listingBatches(entries: WireEntry[], modes: boolean): Generator<[WireEntry[], boolean]> {
  const encoder = new TextEncoder();
  const fixed = modes ? 21 : 19; // PROTOCOL.md §5.3: an entry's bytes besides its name.
  let batch: WireEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = encoder.encode(entry.name).length + fixed;
    if (batch.length === MAX_LISTING_ENTRIES || bytes + size > LISTING_FRAME_BUDGET) {
      yield [batch, true];
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  yield [batch, false];
}

async function handleStat(context: RequestContext, frame: Frame) {
  const { path } = decode(Messages.Stat, frame);
  const target = context.resolve(path);
  const entry = wireEntry(context, await context.storage.stat(target));
  await context.reply(
    encode(entryMessages(context.modes).Attributes, frame.id, { path: target, entry }),
  );
  return { path: target };
}

async function handleMkdir(context: RequestContext, frame: Frame) {
  const { path, parents } = decode(Messages.Mkdir, frame);
  const target = context.resolve(path);
  await context.storage.mkdir(target, { parents });
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path: target };
}

async function handleRmdir(context: RequestContext, frame: Frame) {
  const { path } = decode(Messages.Rmdir, frame);
  const target = context.resolve(path);
  await context.storage.rmdir(target);
  context.quota.forget(context.user);
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path: target };
}

async function handleRemove(context: RequestContext, frame: Frame) {
  const { path, recursive } = decode(Messages.Remove, frame);
  const target = context.resolve(path);
  await context.storage.remove(target, { recursive });
  context.quota.forget(context.user);
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return recursive ? { path: target, recursive } : { path: target };
}

async function handleRename(context: RequestContext, frame: Frame) {
  const { from, to, overwrite } = decode(Messages.Rename, frame);
  const source = context.resolve(from);
  const target = context.resolve(to);
  await context.storage.rename(source, target, { overwrite });
  if (overwrite) context.quota.forget(context.user); // The file it replaced is gone.
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path: source, to: target };
}

async function handleSetMtime(context: RequestContext, frame: Frame) {
  const { path, mtimeMs } = decode(Messages.SetMtime, frame);
  const target = context.resolve(path);
  await context.storage.setMtime(target, mtimeMs);
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path: target };
}

async function handleChdir(context: RequestContext, frame: Frame) {
  const { path } = decode(Messages.Chdir, frame);
  const target = context.resolve(path);
  const entry = await context.storage.stat(target);
  if (entry.kind !== "directory") {
    throw new StorageError(STATUS.NOT_A_DIRECTORY, `${target} is not a directory`);
  }
  context.cwd = target;
  await context.reply(encode(Messages.WorkingDirectory, frame.id, { path: target }));
  return { path: target };
}

/**
 * Every request: its handler, whether it changes storage, and its name in the
 * audit log (an upload is an upload, whether it came in one frame or many).
 */
const TABLE: RequestHandler[] = [
  { name: "List", audit: "list", writes: false, handle: handleList },
  { name: "Stat", audit: "stat", writes: false, handle: handleStat },
  { name: "Chdir", audit: "cd", writes: false, handle: handleChdir },
  { name: "Mkdir", audit: "mkdir", writes: true, handle: handleMkdir },
  { name: "Rmdir", audit: "rmdir", writes: true, handle: handleRmdir },
  { name: "Remove", audit: "delete", writes: true, handle: handleRemove },
  { name: "Rename", audit: "rename", writes: true, handle: handleRename },
  { name: "SetMtime", audit: "set-mtime", writes: true, handle: handleSetMtime },
  {
    name: "Read",
    audit: "download",
    writes: false,
    pipelined: true,
    holds: () => DEFAULT_CHUNK_SIZE, // A small file is read whole before its turn.
    handle: handleRead,
  },
  { name: "Write", audit: "upload", writes: true, handle: handleWrite },
  { name: "WriteFile", audit: "upload", writes: true, pipelined: true, handle: handleWriteFile },
  { name: "ListPartials", audit: "list-partials", writes: false, handle: handleListPartials },
  {
    name: "DiscardPartials",
    audit: "discard-partials",
    writes: true,
    handle: handleDiscardPartials,
  },
  { name: "ListTree", audit: "list-tree", writes: false, handle: handleListTree },
  { name: "Changes", audit: "changes", writes: false, handle: handleChanges },
  { name: "WriteIf", audit: "upload", writes: true, handle: handleWriteIf },
  {
    name: "WriteFileIf",
    audit: "upload",
    writes: true,
    pipelined: true,
    handle: handleWriteFileIf,
  },
  { name: "RemoveIf", audit: "delete", writes: true, handle: handleRemoveIf },
  { name: "RenameIf", audit: "rename", writes: true, handle: handleRenameIf },
  { name: "WriteFiles", audit: "upload", writes: true, pipelined: true, handle: handleWriteFiles },
  {
    name: "ReadFiles",
    audit: "download",
    writes: false,
    pipelined: true,
    holds: () => 2 * MAX_BATCH_BYTES, // The files read, then the reply made of them.
    handle: handleReadFiles,
  },
  {
    name: "WriteFilesIf",
    audit: "upload",
    writes: true,
    pipelined: true,
    handle: handleWriteFilesIf,
  },
];

/** Handlers keyed by type byte. */
export const REQUEST_HANDLERS: ReadonlyMap<number, RequestHandler> = new Map(
  TABLE.map((handler) => [MESSAGE_TYPE[handler.name], handler]),
);

/** Features beyond the request names, advertised in `Welcome`. */
const FEATURES = ["resume", "sha256", ZSTD_CAPABILITY, SYMLINK_CAPABILITY, MODE_CAPABILITY];

/** The capability list for `Welcome`: every request this server handles, plus features. */
export function serverCapabilities(): string[] {
  return [...TABLE.map((handler) => handler.name), ...FEATURES];
}
