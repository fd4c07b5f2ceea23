/**
 * Small files of a tree download fetched many to a request (`ReadFiles`,
 * PROTOCOL.md §5.4.1): each file is queued, the queue goes out as one
 * request when it is full or when nothing more is queued in the same turn
 * of the event loop, and each file that comes back is verified by its
 * SHA-256 and put in place as a download would be (a private partial
 * beside the target, synced, then renamed with its mtime and mode). A file
 * that no longer fits a batch (it grew) is fetched on its own with `Read`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  FRAME_HEADER_SIZE,
  MAX_BATCH_BYTES,
  MAX_BATCH_FILES,
  MAX_WHOLE_FILE_SIZE,
} from "../protocol/constants.ts";
import { decode, Messages, splitContent, type WireFileContent } from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import type { ClientConnection } from "./connection.ts";
import { BatchQueue, fitsPathField, requireOnePerItem } from "./batch_queue.ts";
import { localError, LocalTargetExists, RemoteError } from "./errors.ts";
import { finalMode, folderError, refuseExisting } from "./download_target.ts";
import { PERMISSION_BITS } from "./local_mode.ts";
import { syncData } from "../shared/data_sync.ts";
import { writeAllSync } from "../shared/write_all_sync.ts";
import { equalBytes, removeQuietly } from "./transfer_bytes.ts";
import { partialPathFor } from "./file_download.ts";
import { downloadFile, type FileTransferOptions, type TransferResult } from "./file_transfer.ts";

/** A request's own bytes beside its paths: the header and the list's count; a path's count. */
const REQUEST_FIELD_BYTES = FRAME_HEADER_SIZE + 4;
const PATH_FIELD_BYTES = 4;

interface Queued {
  path: string;
  resolve(file: { entry: WireFileContent; content: Uint8Array }): void;
  reject(error: unknown): void;
}

const encoder = new TextEncoder();

/**
 * Options of one file of {@link WholeFileReads}; `force`, where given,
 * overrides the queue's for this file.
 */
export type BatchedReadOptions =
  & Pick<FileTransferOptions, "progress" | "limiter" | "mode" | "force" | "beforeReplace">
  & {
    /** The target must still be absent when the file takes its name (see {@link Placement}). */
    noClobber?: boolean;
  };

/**
 * The queue of one tree download's small files.
 *
 * @example
 * ```ts
 * const reads = new WholeFileReads(connection, { force: false });
 * await reads.download("/docs/a.txt", 120, "a.txt", { progress: SILENT_PROGRESS });
 * ```
 */
export class WholeFileReads {
  readonly #connection: ClientConnection;
  readonly #force: boolean;
  readonly #signal?: AbortSignal;
  readonly #queue: BatchQueue<Queued>;

  constructor(connection: ClientConnection, options: { force?: boolean; signal?: AbortSignal }) {
    this.#connection = connection;
    this.#force = options.force ?? false;
    this.#signal = options.signal;
    // Made here, not as a field: it needs the signal.
    const limits = {
      items: MAX_BATCH_FILES,
      contentBytes: MAX_BATCH_BYTES,
      requestBytes: MAX_BATCH_BYTES,
      fixedBytes: REQUEST_FIELD_BYTES,
    };
    this.#queue = new BatchQueue<Queued>(limits, (batch) => this.#send(batch), this.#signal);
  }

  /** Whether a file listed with `size` bytes is fetched in a batch on `connection`. */
  static usable(connection: ClientConnection, size: number, remotePath: string): boolean {
    return size <= MAX_WHOLE_FILE_SIZE && connection.capabilities.includes("ReadFiles") &&
      fitsPathField(remotePath);
  }

  /**
   * Fetches `remotePath` (listed with `size` bytes) into `localPath`; resolves
   * once it is there under its name, rejects with its own failure.
   */
  async download(
    remotePath: string,
    size: number,
    localPath: string,
    options: BatchedReadOptions,
  ): Promise<TransferResult> {
    this.#signal?.throwIfAborted();
    const force = options.force ?? this.#force;
    // Before a byte is fetched, as a Read does; what it replaces gives the file its mode.
    const replaced = refuseExisting(localPath, force);
    const { entry, content } = await new Promise<{ entry: WireFileContent; content: Uint8Array }>(
      (resolve, reject) => {
        const request = PATH_FIELD_BYTES + encoder.encode(remotePath).length;
        this.#queue.add({ path: remotePath, resolve, reject }, { content: size, request });
      },
    );
    if (entry.code === STATUS.TOO_LARGE) {
      // It grew past what a batch holds since the tree was listed: on its own, as any large file.
      return await downloadFile(this.#connection, remotePath, localPath, {
        ...options,
        force,
        signal: this.#signal,
      });
    }
    if (entry.code !== 0) throw new RemoteError(entry.code, entry.message);
    if (!equalBytes(createHash("sha256").update(content).digest(), entry.sha256)) {
      throw new RemoteError(
        STATUS.CHECKSUM_MISMATCH,
        "downloaded bytes do not match the server's SHA-256",
      );
    }
    options.progress.grow(content.length, 1);
    await options.limiter?.take(content.length, this.#signal);
    this.#signal?.throwIfAborted();
    await placeWhole(localPath, content, {
      mtimeMs: entry.mtimeMs,
      mode: finalMode(options.mode, replaced, localPath),
      beforeReplace: options.beforeReplace,
      noClobber: options.noClobber,
    });
    options.progress.advance(content.length);
    options.progress.fileDone();
    return { bytes: content.length, resumedFrom: 0 };
  }

  /** Sends a batch as one request; each file's promise settles with its own outcome. */
  async #send(batch: Queued[]): Promise<void> {
    const paths = batch.map((queued) => queued.path);
    const frame = await this.#connection.call(Messages.ReadFiles, { paths });
    const { files, content } = decode(Messages.FileContents, frame);
    requireOnePerItem(files, batch);
    const sizes = files.map((entry) => entry.code === 0 ? entry.size : 0);
    const parts = splitContent("FileContents", sizes, content);
    batch.forEach((queued, index) =>
      queued.resolve({ entry: files[index], content: parts[index] })
    );
  }
}

/** How {@link placeWhole} puts a file in place. */
interface Placement {
  mtimeMs: number;
  mode: number;
  /** Runs just before the file takes its name; if it throws, the partial goes and the target stays. */
  beforeReplace?: () => void;
  /**
   * The target must not exist: the file takes its name with a hard link,
   * which fails if anything is there by then (a link leading nowhere too),
   * instead of a check and a rename with a moment between them. Where the
   * filesystem has no hard links, `beforeReplace` and a rename.
   */
  noClobber?: boolean;
}

/**
 * Puts verified `content` at `localPath` as a download does: written to the
 * private partial beside it (mode 0600), synced, given its `mode`, renamed
 * (or linked) into place and given its mtime. A failure leaves the target
 * as it was.
 */
async function placeWhole(
  localPath: string,
  content: Uint8Array,
  options: Placement,
): Promise<void> {
  const partialPath = partialPathFor(localPath);
  const file = openPartial(localPath, partialPath);
  let created: Deno.FileInfo;
  try {
    writeAllSync(file, content);
    // By path: a Deno.FsFile's stat would resolve the path again, link by link.
    created = Deno.lstatSync(partialPath);
    await syncData(file, created.dev);
  } catch (error) {
    removeQuietly(partialPath);
    throw localError(error, partialPath);
  } finally {
    file.close();
  }
  try {
    // A tree's files mostly keep the mode the partial was made with (0600 from a DFOS server).
    if (((created.mode ?? 0) & PERMISSION_BITS) !== options.mode) {
      Deno.chmodSync(partialPath, options.mode);
    }
  } catch (error) {
    removeQuietly(partialPath);
    throw localError(error, localPath);
  }
  if (!(options.noClobber && linkedInPlace(partialPath, localPath, options.beforeReplace))) {
    try {
      options.beforeReplace?.();
    } catch (error) {
      removeQuietly(partialPath);
      throw error;
    }
    try {
      Deno.renameSync(partialPath, localPath);
    } catch (error) {
      removeQuietly(partialPath); // Nothing to resume: the whole file comes again next time.
      throw localError(error, localPath);
    }
  }
  try {
    Deno.utimeSync(localPath, new Date(), new Date(options.mtimeMs));
  } catch (error) {
    throw localError(error, localPath);
  }
}

/**
 * A new partial for `localPath`. Where one was already there (an earlier
 * download of this name stopped), it is truncated, and what that download
 * left to resume goes: it is of no use now. Only then is that looked for.
 */
function openPartial(localPath: string, partialPath: string): Deno.FsFile {
  const options = { write: true, createNew: true, mode: 0o600 };
  try {
    try {
      return Deno.openSync(partialPath, options);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const metaPath = `${partialPath}.json`;
    if (existsSync(metaPath)) removeQuietly(metaPath);
    return Deno.openSync(partialPath, { write: true, create: true, truncate: true, mode: 0o600 });
  } catch (error) {
    throw folderError(error, localPath) ?? localError(error, partialPath);
  }
}

/**
 * Gives the partial the name `localPath` with a hard link, then drops the
 * partial's name; true once done. Something at `localPath` fails it as
 * `beforeReplace` says (or as {@link LocalTargetExists}); false where the
 * filesystem makes no hard links, for the caller to rename instead.
 */
function linkedInPlace(
  partialPath: string,
  localPath: string,
  beforeReplace: (() => void) | undefined,
): boolean {
  try {
    Deno.linkSync(partialPath, localPath);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) return false;
    removeQuietly(partialPath);
    beforeReplace?.(); // Says what is there now, where it can.
    throw new LocalTargetExists(localPath);
  }
  removeQuietly(partialPath);
  return true;
}
