/**
 * `WriteFiles` (PROTOCOL.md §5.5.2): many small files in one request, each
 * stored exactly as its own `WriteFile` would be (verified, synced, put
 * under its name in one step, in the order they came) and each answered in
 * one `FileResults` reply. A file that fails is reported there and the rest
 * go on; only a broken frame ends the session. What a tree of small files
 * saves is the per-request work: one frame to read, one reply to write, one
 * turn in the session's pipeline.
 *
 * @module
 */

import { batchContents, decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import { describeError } from "./error_reply.ts";
import {
  type AuditDetail,
  auditedPath,
  type BatchFileRecord,
  type RequestContext,
} from "./request_context.ts";
import { toHex } from "../shared/hex.ts";
import { runPool } from "../shared/run_pool.ts";
import type { WholeFileOptions } from "../storage/storage.ts";

/**
 * Files of one batch being written and synced at once. A file keeps its
 * descriptor only while it is written and synced, so this bounds what a
 * batch holds open; the batches in a session's pipeline overlap as whole
 * files do.
 */
const FILES_AT_ONCE = 4;

/** `WriteFiles`: stores each file as `WriteFile` would, in order, and answers with every outcome. */
export async function handleWriteFiles(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const request = decode(Messages.WriteFiles, frame);
  const contents = batchContents(request);
  // The user's request rate counts files: the session took one for the request itself.
  if (request.files.length > 1) await context.pacers.requests?.take(request.files.length - 1);
  await context.pacers.bandwidth?.take(frame.payload.length);
  // Each file goes under its name once the one before it has ended, the first in the batch's turn.
  // (The pool starts files in order, so the one before has begun by then.)
  const ended: Promise<FileOutcome>[] = [];
  const outcomes: FileOutcome[] = [];
  using batch = context.storage.batch();
  await runPool(request.files.map((_, index) => index), FILES_AT_ONCE, async (index) => {
    const file = request.files[index];
    ended[index] = storeOne(context, file.path, contents[index], {
      mtimeMs: file.mtimeMs,
      overwrite: request.overwrite,
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
  sent: string,
  content: Uint8Array,
  options: WholeFileOptions & { overwrite: boolean; turn: Promise<void> },
): Promise<FileOutcome> {
  let path: string | undefined;
  try {
    path = context.resolve(sent);
    context.quota.checkFileSize(path, content.length);
    const reservation = await context.quota.reserve(
      context.user,
      context.storage,
      path,
      content.length,
    );
    let stored = 0;
    try {
      await context.storage.writeFile(path, content, options);
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
