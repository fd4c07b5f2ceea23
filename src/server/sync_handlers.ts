/**
 * The requests sync uses to learn the remote tree and change it safely
 * (PROTOCOL.md §5.9): `ListTree` (the whole tree under a folder, streamed,
 * with hashes and the journal's position), `Changes` (what changed since a
 * position, and optionally a watch), and the conditional `RemoveIf` and
 * `RenameIf` (the conditional uploads are in uploads.ts).
 *
 * @module
 */

import { MAX_TREE_ENTRIES } from "../protocol/constants.ts";
import {
  decode,
  encode,
  type Frame,
  Messages,
  type WireChange,
  type WireTreeEntry,
} from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import type { JournalChange } from "../storage/journal.ts";
import { type EntryInfo, StorageError } from "../storage/storage.ts";
import { fromHex } from "../shared/hex.ts";
import { expectedOf } from "./conditions.ts";
import type { AuditDetail, RequestContext } from "./request_context.ts";

/** Reply frames stay well under the frame limit. */
const FRAME_BUDGET = 512 * 1024;

const encoder = new TextEncoder();

/** `ListTree`: every entry under a folder, with file hashes, in `TreeEntries` frames. */
export async function handleListTree(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const { path } = decode(Messages.ListTree, frame);
  const resolved = context.resolve(path);
  const folder = await context.storage.canonicalPath(resolved, { followLast: true });
  if (folder !== resolved) throw throughLink(resolved, folder);
  await context.index.ready();
  if (folder !== "/") await requireFolder(context, folder, resolved);
  const journal = await context.index.journal();
  const head = { path: folder, journalId: journal.id, sequence: await journal.sequence() };
  const prefix = folder === "/" ? 1 : folder.length + 1;
  let entries: WireTreeEntry[] = [];
  let bytes = 0;
  const flush = async (more: boolean) => {
    await context.reply(encode(Messages.TreeEntries, frame.id, { ...head, entries, more }));
    entries = [];
    bytes = 0;
  };
  await context.index.compareTree(folder, {
    hashes: true,
    visit: async (entryPath, entry, sha256) => {
      const wire = treeEntry(entryPath.slice(prefix), entry, sha256);
      const size = encoder.encode(wire.path).length + 55;
      if (entries.length === MAX_TREE_ENTRIES || bytes + size > FRAME_BUDGET) await flush(true);
      entries.push(wire);
      bytes += size;
    },
  });
  await flush(false);
  return { path: resolved };
}

/**
 * A folder named through a symbolic link: refused, as the journal names its
 * changes canonically (under `canonical`), which a client that asked for
 * `resolved` could not tell apart from changes elsewhere, and a link that is
 * pointed elsewhere later would change the folder without a change in it.
 */
function throughLink(resolved: string, canonical: string): StorageError {
  return new StorageError(
    STATUS.INVALID_PATH,
    `${resolved}: reached through a symbolic link (it is ${canonical}); name that folder instead`,
  );
}

/** NOT_FOUND or NOT_A_DIRECTORY unless `folder` is one; compared with the index on the way. */
async function requireFolder(context: RequestContext, folder: string, shown: string) {
  const { entry } = await context.index.touch(folder);
  if (entry === null) throw new StorageError(STATUS.NOT_FOUND, `${shown}: no such folder`);
  if (entry.kind !== "directory") {
    throw new StorageError(STATUS.NOT_A_DIRECTORY, `${shown}: not a directory`);
  }
}

function treeEntry(path: string, entry: EntryInfo, sha256?: string): WireTreeEntry {
  const digest = entry.kind === "file" && sha256 !== undefined ? fromHex(sha256) : new Uint8Array();
  return { path, kind: entry.kind, size: entry.size, mtimeMs: entry.mtimeMs, sha256: digest };
}

/** `Changes`: the journal's changes under a folder since a cursor, one page; maybe a watch. */
export async function handleChanges(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const request = decode(Messages.Changes, frame);
  const resolved = context.resolve(request.path);
  // A folder that is gone still has changes: its deletion, first of all.
  const folder = await context.storage.canonicalPath(resolved, { followLast: true }).catch(
    (error) =>
      error instanceof StorageError && error.code === STATUS.NOT_FOUND
        ? resolved
        : Promise.reject(error),
  );
  if (folder !== resolved) throw throughLink(resolved, folder);
  await context.index.ready();
  const journal = await context.index.journal();
  const answer = await journal.since(request.journalId, request.sequence, {
    limit: MAX_TREE_ENTRIES,
    under: folder,
  });
  if (answer.kind === "expired") {
    throw new StorageError(
      STATUS.CURSOR_EXPIRED,
      `${resolved}: the server's journal no longer has the changes since that cursor; list the folder again`,
    );
  }
  const { changes, more, sequence } = fitFrame(answer.changes, answer.more, answer.sequence);
  await context.index.fillHashes(changes);
  // The request's journal: the answer proves it was the user's when read (not after, if it broke).
  context.watch(request.watch ? folder : null, { journalId: request.journalId, sequence });
  const wire = changes.map(wireChange);
  await context.reply(encode(Messages.ChangeList, frame.id, { changes: wire, more, sequence }));
  return { path: resolved };
}

/** The changes that fit one frame; if some are left out, the cursor stops before them. */
function fitFrame(changes: JournalChange[], more: boolean, sequence: number) {
  let bytes = 0;
  for (let count = 0; count < changes.length; count++) {
    const change = changes[count];
    bytes += encoder.encode(change.path).length + encoder.encode(change.from ?? "").length + 64;
    if (bytes > FRAME_BUDGET) {
      const kept = changes.slice(0, count);
      return { changes: kept, more: true, sequence: kept.at(-1)!.sequence };
    }
  }
  return { changes, more, sequence };
}

function wireChange(change: JournalChange): WireChange {
  const file = change.kind === "file" && change.sha256 !== undefined;
  return {
    sequence: change.sequence,
    op: change.op,
    path: change.path,
    from: change.from ?? "",
    kind: change.kind ?? "none",
    size: change.size ?? 0,
    mtimeMs: change.mtimeMs ?? 0,
    sha256: file ? fromHex(change.sha256!) : new Uint8Array(),
  };
}

/** `RemoveIf`: removes a file with the expected hash, or an empty folder, if still there. */
export async function handleRemoveIf(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const { path, expected } = decode(Messages.RemoveIf, frame);
  const target = context.resolve(path);
  await context.storage.removeIf(target, expectedOf(target, expected));
  context.quota.forget(context.user);
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path: target };
}

/** `RenameIf`: moves `from`, if still as expected, to `to`, if nothing is there. */
export async function handleRenameIf(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const { from, to, expected } = decode(Messages.RenameIf, frame);
  const source = context.resolve(from);
  const target = context.resolve(to);
  await context.storage.renameIf(source, target, expectedOf(source, expected));
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path: source, to: target };
}
