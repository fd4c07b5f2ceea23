/**
 * One file up or down. Both directions are resumable and verified end to
 * end by SHA-256; the receiving side only ever shows a complete file under
 * the real name.
 *
 * A download writes to `.<name>.dfos-part` beside the target, with the
 * remote size and mtime in `.<name>.dfos-part.json`; running the same `get`
 * again continues it. Both stay private (0o600); the file gets its mode
 * when it takes its real name. An upload's partial lives on the server.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { FRAME_HEADER_SIZE, MAX_WHOLE_FILE_SIZE, MESSAGE_TYPE } from "../protocol/constants.ts";
import { decode, encode, type Frame, Messages } from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import type { ClientConnection } from "./connection.ts";
import { remoteErrorOf } from "./replies.ts";
import { type RemoteExpectation, wireCondition } from "./remote_fs.ts";
import { LocalError, localError, RemoteError } from "./errors.ts";
import type { Progress } from "./progress.ts";
import { ChunkCompressor, decompressChunk, frameChunk } from "../protocol/compression.ts";
import type { RateLimiter } from "../shared/rate_limiter.ts";
import { finalMode, folderError, refuseExisting } from "./download_target.ts";
import { writeAllSync } from "../shared/write_all_sync.ts";

/** Options of {@link downloadFile} and {@link uploadFile}. */
export interface FileTransferOptions {
  /** Replace an existing target. Default false: fails with "already exists". */
  force?: boolean;
  /** Continue an earlier interrupted attempt. Default true. */
  resume?: boolean;
  progress: Progress;
  /** Told where the transfer starts when it continues earlier bytes. */
  onResume?: (offset: number) => void;
  /** Paces the bytes moved (shared by every file of one command). */
  limiter?: RateLimiter;
  /**
   * Cancels the transfer (Ctrl-C): it stops, the server is sent `Cancel`, the
   * partial stays for a resume, and the transfer rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /**
   * Uploads: store the file only if the remote path is still as expected
   * (`WriteIf`/`WriteFileIf`, PROTOCOL.md §5.9.4); `force` is then ignored.
   * A failed condition rejects with CONFLICT and changes nothing.
   */
  expected?: RemoteExpectation;
  /**
   * Downloads: called just before the finished file takes its name; throwing
   * keeps the target as it is (sync re-checks the local file here). The
   * verified partial is then discarded.
   */
  beforeReplace?: () => void;
  /**
   * Permission bits of a downloaded file (`get -p` and `get -r`: the
   * source's). Default: those of the file it replaces, else a new file's
   * (0o666 less the umask). Uploads carry none.
   */
  mode?: number;
}

/** What a transfer did. */
export interface TransferResult {
  bytes: number;
  /** Bytes that were already there from an earlier attempt. */
  resumedFrom: number;
}

interface PartialMeta {
  size: number;
  mtimeMs: number;
}

/** The hidden partial file a download of `localPath` writes to. */
export function partialPathFor(localPath: string): string {
  return join(dirname(localPath), `.${basename(localPath)}.dfos-part`);
}

/** Downloads `remotePath` to `localPath`; a resumed attempt that fails verification starts over once. */
export function downloadFile(
  connection: ClientConnection,
  remotePath: string,
  localPath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  return startOverOnMismatch(
    options,
    (attempt) => downloadOnce(connection, remotePath, localPath, attempt),
  );
}

/** Uploads `localPath` to `remotePath`; a resumed attempt that fails verification starts over once. */
export function uploadFile(
  connection: ClientConnection,
  localPath: string,
  remotePath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  return startOverOnMismatch(
    options,
    (attempt) => uploadOnce(connection, localPath, remotePath, attempt),
  );
}

/**
 * Runs `transfer`; if it resumed from earlier bytes and the whole file then
 * failed its SHA-256 check, the source changed without its size or mtime
 * changing: the partial is gone by now, so run it once more from zero.
 */
async function startOverOnMismatch(
  options: FileTransferOptions,
  transfer: (options: FileTransferOptions) => Promise<TransferResult>,
): Promise<TransferResult> {
  const progress = { resumedFrom: 0 };
  try {
    return await transfer({ ...options, onResume: (offset) => progress.resumedFrom = offset });
  } catch (error) {
    const mismatch = error instanceof RemoteError && error.code === STATUS.CHECKSUM_MISMATCH;
    if (!mismatch || progress.resumedFrom === 0 || options.resume === false) throw error;
    options.signal?.throwIfAborted();
    return await transfer({ ...options, resume: false });
  }
}

async function downloadOnce(
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
    this.synced = this.#file.syncData().then(() => this.#progress.fileDone());
    this.synced.catch(() => {}); // Awaited by the download; a failure must not go unhandled first.
  }
}

function readMeta(metaPath: string, partialPath: string) {
  try {
    const meta = JSON.parse(Deno.readTextFileSync(metaPath)) as PartialMeta;
    const offset = Deno.statSync(partialPath).size;
    if (!Number.isSafeInteger(meta.size) || !Number.isSafeInteger(meta.mtimeMs)) return undefined;
    return offset <= meta.size ? { ...meta, offset } : undefined;
  } catch {
    return undefined;
  }
}

async function uploadOnce(
  connection: ClientConnection,
  localPath: string,
  remotePath: string,
  options: FileTransferOptions,
): Promise<TransferResult> {
  options.signal?.throwIfAborted();
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(localPath, { read: true });
  } catch (error) {
    throw localError(error, localPath);
  }
  try {
    const info = file.statSync();
    if (!info.isFile) throw new LocalError(`${localPath}: not a regular file`);
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

/** The file bytes a `Data` or `DataZstd` frame carries. */
function chunkBytes(frame: Frame): Uint8Array {
  return frame.type === MESSAGE_TYPE.DataZstd ? decompressChunk(frame.payload) : frame.payload;
}

/** Feeds bytes [0, `end`) of `file` to `hash`; stops with the reason of an aborted `signal`. */
async function hashFile(
  file: Deno.FsFile,
  end: number,
  hash: Hash,
  signal?: AbortSignal,
): Promise<void> {
  if (end === 0) return;
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(256 * 1024);
  for (let position = 0; position < end;) {
    signal?.throwIfAborted();
    const read = await file.read(buffer.subarray(0, Math.min(buffer.length, end - position)));
    if (read === null) throw new LocalError("the partial file is shorter than expected");
    hash.update(buffer.subarray(0, read));
    position += read;
  }
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* Already gone. */ }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
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
