/**
 * The requests that write a file (PROTOCOL.md §5.5, §5.5.1, §5.9): `Write`
 * and `WriteIf` open an upload whose `Data` the session's transfers then
 * receive; `WriteFile` and `WriteFileIf` carry a small file whole. The `If`
 * forms go ahead only while the target is as the client expects, checked
 * when the request arrives and again, under the user's commit lock, as the
 * file is put in place.
 *
 * @module
 */

import { decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import { type Expected, expectedOf } from "./conditions.ts";
import type { Reservation } from "./quota.ts";
import { type AuditDetail, auditedPath, type RequestContext } from "./request_context.ts";
import { toHex } from "../shared/hex.ts";

/** What opening an upload needs, from `Write` or `WriteIf`. */
interface UploadRequest {
  path: string;
  size: number;
  mtimeMs: number;
  overwrite: boolean;
  resume: boolean;
  expected?: Expected;
}

/** `Write`: opens (or resumes) a partial upload and tells the client where to start. */
export function handleWrite(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  return openUpload(context, frame.id, decode(Messages.Write, frame));
}

/** `WriteIf`: `Write` without `overwrite`, going ahead only if the target is as expected. */
export function handleWriteIf(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const request = decode(Messages.WriteIf, frame);
  const expected = expectedOf(request.path, request.expected);
  return openUpload(context, frame.id, { ...request, overwrite: false, expected });
}

async function openUpload(
  context: RequestContext,
  id: number,
  request: UploadRequest,
): Promise<AuditDetail> {
  const path = context.resolve(request.path);
  context.quota.checkFileSize(path, request.size);
  const upload = await context.storage.beginUpload(path, {
    size: request.size,
    mtimeMs: request.mtimeMs,
    overwrite: request.overwrite,
    resume: request.resume,
    expected: request.expected,
  });
  let reservation: Reservation | undefined;
  try {
    reservation = await context.quota.reserve(
      context.user,
      context.storage,
      path,
      request.size - upload.offset,
    );
    const target = auditedPath(request.path, path);
    context.transfers.addUpload(id, { upload, target, reservation, size: request.size });
  } catch (error) {
    // Nothing may leave the partial open (its identity would stay locked until a restart).
    reservation?.(0);
    await upload.abort(upload.offset > 0); // Keep only a partial that holds earlier bytes.
    throw error;
  }
  await context.reply(encode(Messages.WriteReady, id, { offset: upload.offset }));
  return { path, deferred: true };
}

/** What storing a small file needs, from `WriteFile` or `WriteFileIf`. */
interface WholeFileRequest {
  path: string;
  mtimeMs: number;
  overwrite: boolean;
  sha256: Uint8Array;
  content: Uint8Array;
  expected?: Expected;
}

/**
 * `WriteFile`: a small file whole in one frame (PROTOCOL.md §5.5.1), stored
 * and synced before the reply. No partial, nothing to resume. It overlaps
 * the whole files around it (request_pipeline.ts): it goes under its name
 * in its `turn`.
 */
export function handleWriteFile(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  return storeWholeFile(context, frame, decode(Messages.WriteFile, frame), turn);
}

/** `WriteFileIf`: `WriteFile` without `overwrite`, only if the target is as expected. */
export function handleWriteFileIf(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const request = decode(Messages.WriteFileIf, frame);
  const expected = expectedOf(request.path, request.expected);
  return storeWholeFile(context, frame, { ...request, overwrite: false, expected }, turn);
}

async function storeWholeFile(
  context: RequestContext,
  frame: Frame,
  request: WholeFileRequest,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const path = context.resolve(request.path);
  const size = request.content.length;
  context.quota.checkFileSize(path, size);
  // The frame is already here; waiting still slows this user's next ones.
  await context.pacers.bandwidth?.take(frame.payload.length);
  const reservation = await context.quota.reserve(context.user, context.storage, path, size);
  let stored = 0;
  try {
    await context.storage.writeFile(path, request.content, {
      mtimeMs: request.mtimeMs,
      overwrite: request.overwrite,
      sha256Hex: toHex(request.sha256),
      expected: request.expected,
      turn,
    });
    stored = size;
  } finally {
    reservation(stored);
  }
  context.metrics.bytesIn += frame.payload.length;
  context.metrics.transfersCompleted++;
  await turn;
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path, bytes: size };
}
