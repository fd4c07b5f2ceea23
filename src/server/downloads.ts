/**
 * Downloads (`Read`, PROTOCOL.md §5.4). A small range is answered at once;
 * a larger one streams from the file straight into reused frame buffers,
 * reading the next chunk while the previous one is being sent, through a
 * {@link DownloadChannel} that stops it dead once cancelled.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DEFAULT_CHUNK_SIZE, FRAME_HEADER_SIZE } from "../protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import { ChunkCompressor, frameChunk } from "../protocol/compression.ts";
import { STATUS } from "../protocol/status.ts";
import { type ReadHandle, StorageError } from "../storage/storage.ts";
import { serverLog } from "../log/logging.ts";
import { ConnectionLost, describeError, errorFrame } from "./error_reply.ts";
import {
  type AuditDetail,
  type AuditedPath,
  auditedPath,
  type RequestContext,
} from "./request_context.ts";
import type { DownloadChannel } from "./transfers.ts";

/**
 * `Read`: opens the file, answers `ReadInfo` in its `turn`, then streams in
 * the background. It overlaps the reads around it (request_pipeline.ts): a
 * small range is read and hashed before its turn comes, so a tree's
 * downloads wait for one another's storage only as far as the pipeline is
 * deep (a session never lets one overtake an earlier write).
 */
export async function handleRead(
  context: RequestContext,
  frame: Frame,
  turn: Promise<void>,
): Promise<AuditDetail> {
  const request = decode(Messages.Read, frame);
  const path = context.resolve(request.path);
  const target = auditedPath(request.path, path);
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
      await sendWhole(context, frame.id, target, handle, { info, offset, end, turn });
      return { path, deferred: true };
    }
    await turn;
    await context.reply(info);
    await context.transfers.startDownload(
      context,
      frame.id,
      { path, size: end, offset },
      (channel) => streamDownload(context, frame.id, target, handle, { offset, end, channel }),
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
  target: AuditedPath,
  handle: ReadHandle,
  range: { info: Uint8Array; offset: number; end: number; turn: Promise<void> },
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
    await range.turn;
    await context.reply(range.info);
    if (range.end > range.offset) await context.reply(data);
    await context.reply(encode(Messages.DataEnd, id, { sha256 }));
    context.metrics.transfersCompleted++;
    context.transfers.reportDownload(target, range.end - range.offset, startedAt, "ok");
  } finally {
    handle.close();
  }
}

interface StreamRange {
  offset: number;
  end: number;
  channel: DownloadChannel;
}

async function streamDownload(
  context: RequestContext,
  id: number,
  target: AuditedPath,
  handle: ReadHandle,
  range: StreamRange,
): Promise<void> {
  const startedAt = performance.now();
  const progress = range.channel.progress;
  try {
    const hash = createHash("sha256");
    await hashPrefix(handle, range.offset, hash);
    await streamChunks(context, id, handle, range, hash, progress);
    await range.channel.finish(encode(Messages.DataEnd, id, { sha256: hash.digest() }));
    context.metrics.transfersCompleted++;
    context.transfers.reportDownload(target, progress.moved, startedAt, "ok");
  } catch (error) {
    const failure = describeError(error);
    const { message, code } = failure;
    context.transfers.reportDownload(target, progress.moved, startedAt, message, code);
    if (error instanceof ConnectionLost) {
      const { path } = target;
      serverLog.debug("the download of {path} stopped: {error}", { path, error: error.message });
    } else if (!range.channel.signal.aborted) {
      await range.channel.finish(errorFrame(id, failure)).catch(() => {});
    }
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
  progress: { moved: number },
): Promise<void> {
  // A range that fits one chunk (most small files) needs one buffer of its own size.
  const length = range.end - range.offset;
  const buffers = (length > DEFAULT_CHUNK_SIZE ? [0, 1] : [0]).map(() =>
    new Uint8Array(FRAME_HEADER_SIZE + Math.min(DEFAULT_CHUNK_SIZE, length))
  );
  const compressor = context.compress ? new ChunkCompressor() : undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let position = range.offset;
  for (let turn = 0; position < range.end; turn ^= 1) {
    range.channel.signal.throwIfAborted(); // Cancelled, or the session is closing.
    const buffer = buffers[turn % buffers.length];
    const want = Math.min(DEFAULT_CHUNK_SIZE, range.end - position);
    const payload = buffer.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + want);
    const read = await handle.read(payload, position);
    if (read === null) throw new StorageError(STATUS.IO_ERROR, "file shrank while being read");
    hash.update(payload.subarray(0, read));
    const frame = frameChunk(buffer, id, read, compressor);
    await context.pacers.bandwidth?.take(frame.length);
    await inFlight;
    progress.moved = position - range.offset; // What the client has been sent: the audit's, the status's.
    inFlight = range.channel.send(frame);
    inFlight.catch(() => {}); // Awaited next turn; a failure meanwhile must not go unhandled.
    position += read;
    context.metrics.bytesOut += frame.length;
  }
  await inFlight;
  progress.moved = position - range.offset;
}
