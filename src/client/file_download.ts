/**
 * Downloads: `Read` into `.<name>.dfos-part` beside the target, with the
 * remote size and mtime in `.<name>.dfos-part.json` so that the same `get`
 * continues it; verified by SHA-256 before the file takes its name. Also
 * `readRemote`, which streams a file's first bytes to a writer (`cat`).
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { MAX_WHOLE_FILE_SIZE, MESSAGE_TYPE } from "../protocol/constants.ts";
import { decode, type Frame, Messages } from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import type { ClientConnection } from "./connection.ts";
import { remoteErrorOf } from "./replies.ts";
import { localError, RemoteError } from "./errors.ts";
import type { Progress } from "./progress.ts";
import type { RateLimiter } from "../shared/rate_limiter.ts";
import { finalMode, folderError, refuseExisting } from "./download_target.ts";
import { syncData } from "../shared/data_sync.ts";
import { writeAllSync } from "../shared/write_all_sync.ts";
import { chunkBytes, equalBytes, hashFile, removeQuietly } from "./transfer_bytes.ts";
import type { FileTransferOptions, TransferResult } from "./file_transfer.ts";

interface PartialMeta {
  size: number;
  mtimeMs: number;
}

/** The hidden partial file a download of `localPath` writes to. */
export function partialPathFor(localPath: string): string {
  return join(dirname(localPath), `.${basename(localPath)}.dfos-part`);
}

/** One attempt at downloading `remotePath` to `localPath` (see `downloadFile`). */
export async function downloadOnce(
  connection: ClientConnection,
  remotePath: string,
  localPath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  options.signal?.throwIfAborted();
  const replaced = refuseExisting(localPath, options.force ?? false);
  const partialPath = partialPathFor(localPath);
  const metaPath = `${partialPath}.json`;
  const meta = options.resume === false ? undefined : readMeta(metaPath, partialPath);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(partialPath, { read: true, write: true, create: true, mode: 0o600 });
  } catch (error) {
    throw folderError(error, localPath) ?? localError(error, partialPath);
  }
  const receiver = new DownloadReceiver(file, partialPath, metaPath, options);
  try {
    await connection.exchange(
      Messages.Read,
      {
        path: remotePath,
        offset: meta?.offset ?? 0,
        length: 0,
        ifSize: meta?.size ?? 0,
        ifMtimeMs: meta?.mtimeMs ?? 0,
      },
      (frame) => receiver.accept(frame),
      options.signal,
    );
    await receiver.synced;
  } finally {
    await receiver.synced.catch(() => {});
    file.close();
  }
  if (options.beforeReplace) {
    try {
      options.beforeReplace();
    } catch (error) {
      removeQuietly(partialPath);
      if (meta || receiver.wroteMeta) removeQuietly(metaPath);
      throw error;
    }
  }
  try {
    Deno.chmodSync(partialPath, finalMode(options.mode, replaced, localPath));
    Deno.renameSync(partialPath, localPath);
    Deno.utimeSync(localPath, new Date(), new Date(receiver.mtimeMs));
  } catch (error) {
    throw localError(error, localPath);
  }
  if (meta || receiver.wroteMeta) removeQuietly(metaPath);
  return { bytes: receiver.received, resumedFrom: receiver.resumedFrom };
}

/** Handles the reply frames of one `Read`. */
class DownloadReceiver {
  received = 0;
  resumedFrom = 0;
  mtimeMs = 0;
  /** Whether `.dfos-part.json` was written (only for files worth resuming). */
  wroteMeta = false;
  /**
   * The flush of the verified bytes to disk, started at `DataEnd`. Not awaited
   * there: the connection's read loop goes on to the next file's frames while
   * the disk works, so the fsyncs of many small files overlap.
   */
  synced: Promise<void> = Promise.resolve();
  #hash: Hash = createHash("sha256");
  #file: Deno.FsFile;
  #partialPath: string;
  #metaPath: string;
  #progress: Progress;
  #onResume?: (offset: number) => void;
  #limiter?: RateLimiter;
  #signal?: AbortSignal;

  constructor(
    file: Deno.FsFile,
    partialPath: string,
    metaPath: string,
    options: FileTransferOptions,
  ) {
    this.#file = file;
    this.#partialPath = partialPath;
    this.#metaPath = metaPath;
    this.#progress = options.progress;
    this.#onResume = options.onResume;
    this.#limiter = options.limiter;
    this.#signal = options.signal;
  }

  async accept(frame: Frame): Promise<boolean> {
    switch (frame.type) {
      case MESSAGE_TYPE.ReadInfo:
        await this.#start(decode(Messages.ReadInfo, frame));
        return false;
      case MESSAGE_TYPE.Data:
      case MESSAGE_TYPE.DataZstd: {
        // Cancelled: what still comes before the server reads the Cancel is not kept, so the
        // partial holds what came before (and a file the server finished meanwhile is not
        // finished here: Ctrl-C stops the download whenever the rest would have come).
        if (this.#signal?.aborted) return false;
        const bytes = chunkBytes(frame);
        // Synchronous: the next frame is not read before this write is done anyway.
        writeAllSync(this.#file, bytes);
        // Waiting here stops reading, and TCP flow control slows the sender.
        await this.#limiter?.take(frame.payload.length, this.#signal);
        this.#hash.update(bytes);
        this.received += bytes.length;
        this.#progress.advance(bytes.length);
        return false;
      }
      case MESSAGE_TYPE.DataEnd:
        this.#signal?.throwIfAborted();
        this.#finish(decode(Messages.DataEnd, frame).sha256);
        return true;
      case MESSAGE_TYPE.Error:
        throw remoteErrorOf(frame);
      default:
        throw new RemoteError(STATUS.PROTOCOL_ERROR, `unexpected reply type ${frame.type} to Read`);
    }
  }

  async #start(info: { size: number; mtimeMs: number; offset: number; length: number }) {
    this.mtimeMs = info.mtimeMs;
    this.resumedFrom = info.offset;
    if (info.offset > 0) this.#onResume?.(info.offset);
    this.#file.truncateSync(info.offset);
    await hashFile(this.#file, info.offset, this.#hash, this.#signal);
    this.#file.seekSync(info.offset, Deno.SeekMode.Start);
    // A file that fits one request is simply fetched again: no resume record.
    if (info.size > MAX_WHOLE_FILE_SIZE) {
      const meta: PartialMeta = { size: info.size, mtimeMs: info.mtimeMs };
      Deno.writeTextFileSync(this.#metaPath, JSON.stringify(meta), { mode: 0o600 });
      this.wroteMeta = true;
    }
    this.#progress.grow(info.length + info.offset, 1);
    this.#progress.advance(info.offset);
  }

  #finish(expected: Uint8Array): void {
    const actual = this.#hash.digest();
    if (!equalBytes(actual, expected)) {
      removeQuietly(this.#partialPath);
      removeQuietly(this.#metaPath);
      throw new RemoteError(
        STATUS.CHECKSUM_MISMATCH,
        "downloaded bytes do not match the server's SHA-256",
      );
    }
    this.synced = syncData(this.#file, this.#file.statSync().dev).then(() =>
      this.#progress.fileDone()
    );
    this.synced.catch(() => {}); // Awaited by the download; a failure must not go unhandled first.
  }
}

function readMeta(metaPath: string, partialPath: string) {
  // Most downloads have nothing to resume: asking first is much cheaper than a failed read.
  if (!existsSync(metaPath)) return undefined;
  try {
    const meta = JSON.parse(Deno.readTextFileSync(metaPath)) as PartialMeta;
    const offset = Deno.statSync(partialPath).size;
    if (!Number.isSafeInteger(meta.size) || !Number.isSafeInteger(meta.mtimeMs)) return undefined;
    return offset <= meta.size ? { ...meta, offset } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the first `length` bytes of `remotePath` (the whole file if 0) and
 * passes them to `write` as they arrive; verifies their SHA-256 at the end.
 * An aborted `signal` cancels the read: nothing more is written.
 */
export async function readRemote(
  connection: ClientConnection,
  remotePath: string,
  length: number,
  write: (bytes: Uint8Array) => Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  const hash = createHash("sha256");
  let received = 0;
  await connection.exchange(
    Messages.Read,
    { path: remotePath, offset: 0, length, ifSize: 0, ifMtimeMs: 0 },
    async (frame) => {
      if (frame.type === MESSAGE_TYPE.ReadInfo) return false;
      if (frame.type === MESSAGE_TYPE.Data || frame.type === MESSAGE_TYPE.DataZstd) {
        const bytes = chunkBytes(frame);
        hash.update(bytes);
        received += bytes.length;
        if (!signal?.aborted) await write(bytes);
        return false;
      }
      if (frame.type === MESSAGE_TYPE.DataEnd) {
        if (!equalBytes(hash.digest(), decode(Messages.DataEnd, frame).sha256)) {
          throw new RemoteError(
            STATUS.CHECKSUM_MISMATCH,
            "received bytes do not match the server's SHA-256",
          );
        }
        return true;
      }
      throw remoteErrorOf(frame);
    },
    signal,
  );
  return received;
}
