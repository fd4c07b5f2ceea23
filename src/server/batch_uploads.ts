/**
 * `WriteFiles` (PROTOCOL.md §5.5.2) and `WriteFilesIf` (§5.9.4): many small
 * files in one request, each stored exactly as its own `WriteFile` (or
 * `WriteFileIf`) would be (verified, synced, put under its name in one
 * step, in the order they came) and each answered in one `FileResults`
 * reply. A file that fails is reported there and the rest
 * go on; only a broken frame ends the session. What a tree of small files
 * saves is the per-request work: one frame to read, one reply to write, one
 * turn in the session's pipeline.
 *
 * @module
 */

import {
  batchContents,
  decode,
  encode,
  type Frame,
  Messages,
  type WireBatchFile,
  type WireCondition,
} from "../protocol/messages.ts";
import { expectedOf } from "./conditions.ts";
import { describeError } from "./error_reply.ts";
import {
  type AuditDetail,
  auditedPath,
  type BatchFileRecord,
  type RequestContext,
} from "./request_context.ts";
import { toHex } from "../shared/hex.ts";
import { runPool } from "../shared/run_pool.ts";
import { WRITES_AT_ONCE } from "./write_slots.ts";
import type { WholeFileOptions } from "../storage/storage.ts";

/**
 * Files of one batch being written and synced at once: as many as the
 * session's slots (write_slots.ts), which batches and whole files in its
 * pipeline share. On a disk each file's sync waits for its own writes
 * (0.3–0.5 ms here): with 4 at once the disk idled between them, and 200
 * changed files of a re-sync (one batch) took about 15 ms longer to store
 * than with 16 (32 gained nothing more).
 */
const FILES_AT_ONCE = WRITES_AT_ONCE;

/** A file of a batch as the handlers read it: a `WriteFiles` file, with a condition in `WriteFilesIf`. */
interface BatchFile extends WireBatchFile {
  expected?: WireCondition;
}

/** `WriteFiles`: stores each file as `WriteFile` would, in order, and answers with every outcome. */
export function handleWriteFiles(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const request = decode(Messages.WriteFiles, frame);
  return storeBatch(context, frame, turn, request.files, batchContents(request), request.overwrite);
}

/**
 * `WriteFilesIf` (PROTOCOL.md §5.9.4): stores each file as `WriteFileIf`
 * would (only while its path is as its condition says), in order, and
 * answers with every outcome; a condition that fails is that file's CONFLICT.
 */
export function handleWriteFilesIf(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const request = decode(Messages.WriteFilesIf, frame);
  const contents = batchContents(request, "WriteFilesIf");
  return storeBatch(context, frame, turn, request.files, contents, false);
}

async function storeBatch(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
  files: BatchFile[],
  contents: Uint8Array[],
  overwrite: boolean,
): Promise<AuditDetail> {
  // The user's request rate counts files: the session took one for the request itself.
  if (files.length > 1) await context.pacers.requests?.take(files.length - 1);
  await context.pacers.bandwidth?.take(frame.payload.length);
  // Each file goes under its name once the one before it has ended, the first in the batch's turn.
  // (The pool starts files in order, so the one before has begun by then.)
  const ended: Promise<FileOutcome>[] = [];
  const outcomes: FileOutcome[] = [];
  using batch = context.storage.batch();
  await runPool(files.map((_, index) => index), FILES_AT_ONCE, async (index) => {
    const file = files[index];
    ended[index] = storeOne(context, file, contents[index], {
      mtimeMs: file.mtimeMs,
      overwrite,
      sha256Hex: toHex(file.sha256),
      batch,
      turn: index === 0 ? turn : ended[index - 1].then(() => {}),
    });
    outcomes[index] = await ended[index];
  });
  await turn;
  const results = outcomes.map((outcome) =>
    outcome.ok ? { code: 0, message: "" } : { code: outcome.code, message: outcome.message }
  );
  context.metrics.bytesIn += frame.payload.length;
  await context.reply(encode(Messages.FileResults, frame.id, { results }));
  return { files: outcomes.map((outcome) => outcome.audit) };
}

/** One file's outcome: for the reply and for its own audit record. */
type FileOutcome =
  & { audit: BatchFileRecord }
  & ({ ok: true } | { ok: false; code: number; message: string });

async function storeOne(
  context: RequestContext,
  file: BatchFile,
  content: Uint8Array,
  options: WholeFileOptions & { overwrite: boolean; turn: Promise<void> },
): Promise<FileOutcome> {
  const sent = file.path;
  let path: string | undefined;
  try {
    path = context.resolve(sent);
    const expected = file.expected === undefined ? undefined : expectedOf(path, file.expected);
    context.quota.checkFileSize(path, content.length);
    const reservation = await context.quota.reserve(
      context.user,
      context.storage,
      path,
      content.length,
    );
    let stored = 0;
    try {
      await context.storage.writeFile(path, content, { ...options, expected });
      stored = content.length;
    } finally {
      reservation(stored);
    }
    context.metrics.transfersCompleted++;
    await options.turn; // Answered, and audited, in its turn even where it failed early.
    return { ok: true, audit: { ...auditedPath(sent, path), bytes: stored, result: "ok" } };
  } catch (error) {
    await options.turn;
    const failure = describeError(error);
    const where = path === undefined ? { requested: sent } : auditedPath(sent, path);
    return {
      ok: false,
      code: failure.code,
      message: failure.message,
      audit: { ...where, result: failure.message, code: failure.code },
    };
  }
}
