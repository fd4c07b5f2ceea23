/**
 * Downloads (`Read`, PROTOCOL.md §5.4) and uploads (`Write` + `Data`… + `DataEnd`, §5.5).
 * A download streams from the file straight into reused frame buffers,
 * reading the next chunk while the previous one is being sent. An upload's
 * bytes go to the storage's partial file and become visible only on a
 * verified commit.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DEFAULT_CHUNK_SIZE, FRAME_HEADER_SIZE } from "../protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { ChunkCompressor, decompressChunk, frameChunk } from "../protocol/compression.ts";
import { MESSAGE_TYPE } from "../protocol/constants.ts";
import { STATUS } from "../protocol/status.ts";
import { type ReadHandle, StorageError, type Upload } from "../storage/storage.ts";
import { describeError, errorFrame } from "./error_reply.ts";
import type { Reservation } from "./quota.ts";
import type { AuditDetail, RequestContext } from "./request_context.ts";

/** Downloads one session runs at once; further `Read`s wait (backpressure). */
export const MAX_CONCURRENT_DOWNLOADS = 8;

/** Upload ids whose failure we remember, to drop their in-flight `Data` quietly. */
const MAX_DISCARDED_IDS = 1024;

/** How a finished transfer is reported to the audit log. */
export type TransferAudit = (
  operation: "Read" | "Write",
  detail: AuditDetail & { durationMs: number },
  result: string,
) => void;

/** What the audit record of a transfer needs. */
interface TransferProgress {
  path: string;
  startedAt: number;
  /** Bytes moved in this attempt. */
  received: number;
}

interface ActiveUpload extends TransferProgress {
  upload: Upload;
  /** Quota held for the bytes still to come. */
  reservation: Reservation;
}

/** The transfers running on one session. */
export class TransferRegistry {
  #uploads = new Map<number, ActiveUpload>();
  #discarding = new Set<number>();
  #downloads = new Map<number, { controller: AbortController; done: Promise<void> }>();
  #audit: TransferAudit;
  #onIdle: () => void = () => {};

  constructor(audit: TransferAudit) {
    this.#audit = audit;
  }

  /** Running uploads plus running downloads. */
  get active(): number {
    return this.#uploads.size + this.#downloads.size;
  }

  /** Called every time the number of active transfers drops to zero. */
  set onIdle(callback: () => void) {
    this.#onIdle = callback;
  }

  /** Routes a `Data`, `DataEnd` or `Cancel` frame. */
  route(context: RequestContext, frame: Frame): Promise<void> {
    if (frame.type === Messages.DataEnd.type) return this.#finishUpload(context, frame);
    if (frame.type === Messages.Cancel.type) return this.#cancel(context, frame);
    return this.#receive(context, frame);
  }

  /** Aborts everything: uploads keep their partial for a later resume. */
  async closeAll(): Promise<void> {
    for (const { controller } of this.#downloads.values()) controller.abort();
    const uploads = [...this.#uploads.keys()].map((id) => this.#take(id)!);
    await Promise.allSettled(uploads.map(({ upload }) => upload.abort(true)));
    await Promise.allSettled([...this.#downloads.values()].map(({ done }) => done));
  }

  async startDownload(id: number, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
    while (this.#downloads.size >= MAX_CONCURRENT_DOWNLOADS) {
      await Promise.race([...this.#downloads.values()].map(({ done }) => done));
    }
    if (this.#downloads.has(id)) throw new ProtocolError(`request id ${id} is already in use`);
    const controller = new AbortController();
    const done = run(controller.signal).finally(() => {
      this.#downloads.delete(id);
      this.#settle();
    });
    this.#downloads.set(id, { controller, done });
  }

  addUpload(id: number, upload: Upload, path: string, reservation: Reservation): void {
    if (this.#uploads.has(id)) throw new ProtocolError(`request id ${id} is already in use`);
    this.#discarding.delete(id);
    this.#uploads.set(id, { upload, path, startedAt: performance.now(), received: 0, reservation });
  }

  /** Removes an upload from the running set, ending its quota reservation. */
  #take(id: number): ActiveUpload | undefined {
    const state = this.#uploads.get(id);
    if (!state) return undefined;
    this.#uploads.delete(id);
    state.reservation(state.received);
    return state;
  }

  async #receive(context: RequestContext, frame: Frame): Promise<void> {
    const state = this.#uploads.get(frame.id);
    if (!state) {
      if (this.#discarding.has(frame.id)) return;
      throw new ProtocolError(`Data for request ${frame.id}, which is not an upload in progress`);
    }
    // A payload that does not inflate, or compression nobody agreed to, is a broken frame.
    const compressed = frame.type === MESSAGE_TYPE.DataZstd;
    if (compressed && !context.compress) {
      throw new ProtocolError("DataZstd without agreeing on zstd");
    }
    const bytes = compressed ? decompressChunk(frame.payload) : frame.payload;
    try {
      await state.upload.write(bytes);
      state.received += bytes.length;
      context.metrics.bytesIn += frame.payload.length;
      // Waiting here stops reading this connection; TCP flow control slows the client.
      await context.pacers.bandwidth?.take(frame.payload.length);
    } catch (error) {
      await this.#failUpload(context, frame.id, state, error);
    }
  }

  async #finishUpload(context: RequestContext, frame: Frame): Promise<void> {
    const { sha256 } = decode(Messages.DataEnd, frame);
    if (this.#discarding.delete(frame.id)) return;
    const state = this.#take(frame.id);
    if (!state) throw new ProtocolError(`DataEnd for request ${frame.id}, which is not an upload`);
    try {
      await state.upload.commit(toHex(sha256));
      context.metrics.transfersCompleted++;
      this.#report("Write", state, "ok");
      await context.reply(encode(Messages.Ok, frame.id, {}));
    } catch (error) {
      await state.upload.abort(true).catch(() => {}); // Closes it; a short upload stays resumable.
      this.#report("Write", state, describeError(error).message);
      await context.reply(errorFrame(frame.id, error));
    } finally {
      this.#settle();
    }
  }

  async #cancel(context: RequestContext, frame: Frame): Promise<void> {
    decode(Messages.Cancel, frame);
    this.#downloads.get(frame.id)?.controller.abort();
    const state = this.#uploads.get(frame.id);
    if (state) {
      await this.#failUpload(context, frame.id, state, cancelled());
    }
  }

  async #failUpload(context: RequestContext, id: number, state: ActiveUpload, error: unknown) {
    this.#take(id);
    this.#remember(id);
    await state.upload.abort(true).catch(() => {});
    this.#report("Write", state, describeError(error).message);
    this.#settle();
    await context.reply(errorFrame(id, error));
  }

  #remember(id: number): void {
    if (this.#discarding.size >= MAX_DISCARDED_IDS) {
      this.#discarding.delete(this.#discarding.values().next().value!);
    }
    this.#discarding.add(id);
  }

  #report(operation: "Read" | "Write", state: TransferProgress, result: string): void {
    const durationMs = Math.round(performance.now() - state.startedAt);
    this.#audit(operation, { path: state.path, bytes: state.received, durationMs }, result);
  }

  #settle(): void {
    if (this.active === 0) this.#onIdle();
  }

  /** Exposed for downloads, which report themselves when they end. */
  reportDownload(path: string, bytes: number, startedAt: number, result: string): void {
    this.#report("Read", { path, received: bytes, startedAt }, result);
  }
}

function cancelled(): StorageError {
  return new StorageError(STATUS.CANCELLED, "cancelled by the client");
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `Read`: opens the file, answers `ReadInfo`, then streams in the background. */
export async function handleRead(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const request = decode(Messages.Read, frame);
  const path = context.resolve(request.path);
  const handle = await context.storage.openRead(path);
  try {
    const conditionFailed = (request.ifSize !== 0 || request.ifMtimeMs !== 0) &&
      (handle.size !== request.ifSize || handle.mtimeMs !== request.ifMtimeMs);
    const offset = conditionFailed ? 0 : request.offset;
    if (offset > handle.size) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `offset ${offset} is past the end (${handle.size})`,
      );
    }
    const end = request.length === 0 ? handle.size : Math.min(handle.size, offset + request.length);
    const info = encode(Messages.ReadInfo, frame.id, {
      size: handle.size,
      mtimeMs: handle.mtimeMs,
      offset,
      length: end - offset,
    });
    if (end <= DEFAULT_CHUNK_SIZE) {
      await sendWhole(context, frame.id, path, handle, { info, offset, end });
      return { path, deferred: true };
    }
    await context.reply(info);
    await context.transfers.startDownload(
      frame.id,
      (signal) => streamDownload(context, frame.id, path, handle, { offset, end, signal }),
    );
  } catch (error) {
    handle.close();
    throw error;
  }
  return { path, deferred: true };
}

/**
 * A range of a small file (it ends within the first chunk): read in one
 * call, answered with `ReadInfo`, one `Data` and `DataEnd` queued together
 * so they leave in one write, without a background stream.
 */
async function sendWhole(
  context: RequestContext,
  id: number,
  path: string,
  handle: ReadHandle,
  range: { info: Uint8Array; offset: number; end: number },
): Promise<void> {
  const startedAt = performance.now();
  try {
    // [0, end): the prefix before `offset` (a resumed download) counts in the digest.
    const buffer = new Uint8Array(FRAME_HEADER_SIZE + range.end);
    const bytes = buffer.subarray(FRAME_HEADER_SIZE);
    for (let filled = 0; filled < range.end;) {
      const read = await handle.read(bytes.subarray(filled), filled);
      if (read === null) throw new StorageError(STATUS.IO_ERROR, "file shrank while being read");
      filled += read;
    }
    const sha256 = createHash("sha256").update(bytes).digest();
    // The Data frame's header goes just before the range, over bytes already hashed.
    const data = frameChunk(
      buffer.subarray(range.offset),
      id,
      range.end - range.offset,
      context.compress ? new ChunkCompressor() : undefined,
    );
    await context.pacers.bandwidth?.take(data.length);
    context.metrics.bytesOut += data.length;
    await context.reply(range.info);
    if (range.end > range.offset) await context.reply(data);
    await context.reply(encode(Messages.DataEnd, id, { sha256 }));
    context.metrics.transfersCompleted++;
    context.transfers.reportDownload(path, range.end - range.offset, startedAt, "ok");
  } finally {
    handle.close();
  }
}

interface StreamRange {
  offset: number;
  end: number;
  signal: AbortSignal;
}

async function streamDownload(
  context: RequestContext,
  id: number,
  path: string,
  handle: ReadHandle,
  range: StreamRange,
): Promise<void> {
  const startedAt = performance.now();
  let sent = 0;
  try {
    const hash = createHash("sha256");
    await hashPrefix(handle, range.offset, hash);
    sent = await streamChunks(context, id, handle, range, hash);
    await context.send(encode(Messages.DataEnd, id, { sha256: hash.digest() }));
    context.metrics.transfersCompleted++;
    context.transfers.reportDownload(path, sent, startedAt, "ok");
  } catch (error) {
    context.transfers.reportDownload(path, sent, startedAt, describeError(error).message);
    await context.send(errorFrame(id, error)).catch(() => {});
  } finally {
    handle.close();
  }
}

/** Feeds bytes [0, `end`) of the file to `hash` (for a resumed download's end-to-end digest). */
async function hashPrefix(handle: ReadHandle, end: number, hash: ReturnType<typeof createHash>) {
  const buffer = new Uint8Array(DEFAULT_CHUNK_SIZE);
  for (let position = 0; position < end;) {
    const read = await handle.read(
      buffer.subarray(0, Math.min(buffer.length, end - position)),
      position,
    );
    if (read === null) throw new StorageError(STATUS.IO_ERROR, "file shrank while being read");
    hash.update(buffer.subarray(0, read));
    position += read;
  }
}

/** Sends [offset, end) as `Data` frames; two buffers so reading overlaps sending. */
async function streamChunks(
  context: RequestContext,
  id: number,
  handle: ReadHandle,
  range: StreamRange,
  hash: ReturnType<typeof createHash>,
): Promise<number> {
  // A range that fits one chunk (most small files) needs one buffer of its own size.
  const length = range.end - range.offset;
  const buffers = (length > DEFAULT_CHUNK_SIZE ? [0, 1] : [0]).map(() =>
    new Uint8Array(FRAME_HEADER_SIZE + Math.min(DEFAULT_CHUNK_SIZE, length))
  );
  const compressor = context.compress ? new ChunkCompressor() : undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let position = range.offset;
  for (let turn = 0; position < range.end; turn ^= 1) {
    if (range.signal.aborted) throw cancelled();
    const buffer = buffers[turn % buffers.length];
    const want = Math.min(DEFAULT_CHUNK_SIZE, range.end - position);
    const payload = buffer.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + want);
    const read = await handle.read(payload, position);
    if (read === null) throw new StorageError(STATUS.IO_ERROR, "file shrank while being read");
    hash.update(payload.subarray(0, read));
    const frame = frameChunk(buffer, id, read, compressor);
    await context.pacers.bandwidth?.take(frame.length);
    await inFlight;
    inFlight = context.send(frame);
    inFlight.catch(() => {}); // Awaited next turn; a failure meanwhile must not go unhandled.
    position += read;
    context.metrics.bytesOut += frame.length;
  }
  await inFlight;
  return position - range.offset;
}

/** `Write`: opens (or resumes) a partial upload and tells the client where to start. */
export async function handleWrite(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const request = decode(Messages.Write, frame);
  const path = context.resolve(request.path);
  context.quota.checkFileSize(path, request.size);
  const upload = await context.storage.beginUpload(path, {
    size: request.size,
    mtimeMs: request.mtimeMs,
    overwrite: request.overwrite,
    resume: request.resume,
  });
  let reservation: Reservation;
  try {
    reservation = await context.quota.reserve(
      context.user,
      context.storage,
      path,
      request.size - upload.offset,
    );
  } catch (error) {
    await upload.abort(upload.offset > 0); // Keep only a partial that holds earlier bytes.
    throw error;
  }
  context.transfers.addUpload(frame.id, upload, path, reservation);
  await context.reply(encode(Messages.WriteReady, frame.id, { offset: upload.offset }));
  return { path, deferred: true };
}

/**
 * `WriteFile`: a small file whole in one frame (PROTOCOL.md §5.5), stored
 * and synced before the reply. No partial, nothing to resume.
 */
export async function handleWriteFile(context: RequestContext, frame: Frame): Promise<AuditDetail> {
  const request = decode(Messages.WriteFile, frame);
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
    });
    stored = size;
  } finally {
    reservation(stored);
  }
  context.metrics.bytesIn += frame.payload.length;
  context.metrics.transfersCompleted++;
  await context.reply(encode(Messages.Ok, frame.id, {}));
  return { path, bytes: size };
}
