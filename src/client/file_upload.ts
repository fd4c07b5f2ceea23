/**
 * Uploads: a small file in one `WriteFile` (or `WriteFileIf`), a larger one
 * as `Write` (or `WriteIf`) then `Data` frames from where the server's
 * partial stopped, double-buffered, with the SHA-256 of the whole file at
 * the end.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { FRAME_HEADER_SIZE, MAX_WHOLE_FILE_SIZE, MESSAGE_TYPE } from "../protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import type { ClientConnection } from "./connection.ts";
import { remoteErrorOf } from "./replies.ts";
import { wireCondition } from "./remote_fs.ts";
import { LocalError } from "./errors.ts";
import type { Progress } from "./progress.ts";
import { ChunkCompressor, frameChunk } from "../protocol/compression.ts";
import type { RateLimiter } from "../shared/rate_limiter.ts";
import { hashFile, openLocalFile, readFull } from "./transfer_bytes.ts";
import type { FileTransferOptions, TransferResult } from "./file_transfer.ts";

/** One attempt at uploading `localPath` to `remotePath` (see `uploadFile`). */
export async function uploadOnce(
  connection: ClientConnection,
  localPath: string,
  remotePath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  options.signal?.throwIfAborted();
  const { file, info } = openLocalFile(localPath);
  try {
    const request = {
      path: remotePath,
      size: info.size,
      mtimeMs: Math.floor(info.mtime?.getTime() ?? Date.now()),
      overwrite: options.force ?? false,
      resume: options.resume ?? true,
    };
    const whole = options.expected === undefined ? "WriteFile" : "WriteFileIf";
    if (info.size <= MAX_WHOLE_FILE_SIZE && connection.capabilities.includes(whole)) {
      return await uploadWhole(connection, file, request, options);
    }
    const sender = new UploadSender(connection, file, info.size, options);
    const onFrame = (frame: Frame, id: number) => sender.accept(frame, id);
    try {
      if (options.expected === undefined) {
        await connection.exchange(Messages.Write, request, onFrame, options.signal);
      } else {
        const { overwrite: _, ...conditional } = request;
        const expected = wireCondition(options.expected);
        await connection.exchange(
          Messages.WriteIf,
          { ...conditional, expected },
          onFrame,
          options.signal,
        );
      }
    } catch (error) {
      await sender.sending; // A local failure explains a CANCELLED reply better.
      throw error;
    }
    await sender.sending;
    return { bytes: info.size - sender.offset, resumedFrom: sender.offset };
  } finally {
    file.close();
  }
}

/**
 * A small file in one `WriteFile` request: no round trip before the bytes,
 * no partial; the server stores it whole or not at all.
 */
async function uploadWhole(
  connection: ClientConnection,
  file: Deno.FsFile,
  request: { path: string; size: number; mtimeMs: number; overwrite: boolean },
  options: FileTransferOptions,
): Promise<TransferResult> {
  const content = new Uint8Array(request.size);
  for (let filled = 0; filled < content.length;) {
    const read = file.readSync(content.subarray(filled));
    if (read === null) throw new LocalError("the local file shrank while it was being uploaded");
    filled += read;
  }
  options.progress.grow(request.size, 1);
  await options.limiter?.take(request.size, options.signal);
  options.signal?.throwIfAborted(); // A request in one frame: nothing to cancel once it is sent.
  const whole = {
    path: request.path,
    mtimeMs: request.mtimeMs,
    sha256: createHash("sha256").update(content).digest(),
    content,
  };
  if (options.expected === undefined) {
    await connection.call(Messages.WriteFile, { ...whole, overwrite: request.overwrite });
  } else {
    await connection.writeFileIf(whole, options.expected);
  }
  options.progress.advance(request.size);
  options.progress.fileDone();
  return { bytes: request.size, resumedFrom: 0 };
}

/** Handles the reply frames of one `Write` and streams the bytes. */
class UploadSender {
  offset = 0;
  sending: Promise<void> = Promise.resolve();
  #connection: ClientConnection;
  #file: Deno.FsFile;
  #size: number;
  #progress: Progress;
  #onResume?: (offset: number) => void;
  #limiter?: RateLimiter;
  #signal?: AbortSignal;
  #stopped = false;

  constructor(
    connection: ClientConnection,
    file: Deno.FsFile,
    size: number,
    options: FileTransferOptions,
  ) {
    this.#connection = connection;
    this.#file = file;
    this.#size = size;
    this.#progress = options.progress;
    this.#onResume = options.onResume;
    this.#limiter = options.limiter;
    this.#signal = options.signal;
  }

  accept(frame: Frame, id: number): boolean {
    if (frame.type === MESSAGE_TYPE.WriteReady) {
      this.offset = decode(Messages.WriteReady, frame).offset;
      if (this.offset > 0) this.#onResume?.(this.offset);
      this.#progress.grow(this.#size, 1);
      this.#progress.advance(this.offset);
      this.sending = this.#send(id).catch((error) => {
        // A cancelled exchange has sent its own Cancel.
        if (!this.#signal?.aborted) {
          this.#connection.sendFrame(encode(Messages.Cancel, id, {})).catch(() => {});
        }
        throw error;
      });
      this.sending.catch(() => {});
      return false;
    }
    this.#stopped = true;
    if (frame.type === MESSAGE_TYPE.Ok) {
      this.#progress.fileDone();
      return true;
    }
    throw remoteErrorOf(frame);
  }

  async #send(id: number): Promise<void> {
    const hash = createHash("sha256");
    await hashFile(this.#file, this.offset, hash, this.#signal);
    const chunk = this.#connection.chunkSize;
    const buffers = [0, 1].map(() => new Uint8Array(FRAME_HEADER_SIZE + chunk));
    const compressor = this.#connection.compress ? new ChunkCompressor() : undefined;
    let inFlight: Promise<void> = Promise.resolve();
    let position = this.offset;
    await this.#file.seek(position, Deno.SeekMode.Start);
    for (let turn = 0; position < this.#size && !this.#stopped; turn ^= 1) {
      const buffer = buffers[turn];
      const want = Math.min(chunk, this.#size - position);
      const read = await readFull(
        this.#file,
        buffer.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + want),
      );
      if (read < want) throw new LocalError("the local file shrank while it was being uploaded");
      hash.update(buffer.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + read));
      await this.#limiter?.take(read, this.#signal);
      await inFlight;
      this.#signal?.throwIfAborted(); // No Data after the Cancel.
      inFlight = this.#connection.sendFrame(frameChunk(buffer, id, read, compressor));
      inFlight.catch(() => {}); // Awaited next turn; a failure meanwhile must not go unhandled.
      position += read;
      this.#progress.advance(read);
    }
    await inFlight;
    this.#signal?.throwIfAborted();
    if (!this.#stopped) {
      await this.#connection.sendFrame(encode(Messages.DataEnd, id, { sha256: hash.digest() }));
    }
  }
}
