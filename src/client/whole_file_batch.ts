/**
 * Small files of a tree upload sent many to a request (`WriteFiles`,
 * PROTOCOL.md §5.5.2), or of a sync, each with its condition
 * (`WriteFilesIf`, §5.9.4): each file is read, hashed and queued as its own
 * upload would be, and the queue goes out as one request when it is full
 * or when nothing more is queued in the same turn of the event loop. Every
 * file still gets its own outcome: stored, refused (EXISTS without
 * `--force`, CONFLICT where its target changed) or failed, and the others
 * carry on.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  FRAME_HEADER_SIZE,
  MAX_BATCH_BYTES,
  MAX_BATCH_FILES,
  MAX_FRAME_SIZE,
  MAX_WHOLE_FILE_SIZE,
} from "../protocol/constants.ts";
import { decode, Messages, type WireConditionalFile } from "../protocol/messages.ts";
import type { ClientConnection } from "./connection.ts";
import { type RemoteExpectation, wireCondition } from "./remote_fs.ts";
import { readSmallLocalFile } from "./transfer_bytes.ts";
import { BatchQueue, fitsPathField, requireOnePerItem } from "./batch_queue.ts";
import { concatBytes } from "../shared/concat_bytes.ts";
import { RemoteError } from "./errors.ts";
import { type FileTransferOptions, type TransferResult, uploadFile } from "./file_transfer.ts";

/** Bytes a file adds to a `WriteFiles` frame beside its content and path: the fixed fields. */
const FILE_FIELD_BYTES = 4 + 8 + 4 + 32;
/** What its condition adds in a `WriteFilesIf`: the state and the digest with its length. */
const CONDITION_BYTES = 1 + 4 + 32;
/** The frame's own fields: the header, `overwrite`, the list's and the content's counts. */
const BATCH_FIELD_BYTES = FRAME_HEADER_SIZE + 1 + 4 + 4;

interface Queued {
  file: WireConditionalFile;
  content: Uint8Array;
  resolve(): void;
  reject(error: unknown): void;
}

const encoder = new TextEncoder();

/** Options of {@link WholeFileBatch}. */
export interface WholeFileBatchOptions {
  /** Replace files that exist (`put -r --force`). Default false: EXISTS for each. */
  overwrite?: boolean;
  /**
   * Every file goes with the condition its {@link WholeFileBatch.upload}
   * names (`WriteFilesIf`: a sync's pushes); `overwrite` is then ignored.
   */
  conditional?: boolean;
  /** Sends nothing more once aborted: queued files fail with its reason. */
  signal?: AbortSignal;
}

/**
 * The queue of one tree upload's small files.
 *
 * @example
 * ```ts
 * const batch = new WholeFileBatch(connection, { overwrite: false });
 * if (WholeFileBatch.usable(connection, size, "/docs/a.txt")) {
 *   await batch.upload("a.txt", "/docs/a.txt", options);
 * }
 * ```
 */
export class WholeFileBatch {
  readonly #connection: ClientConnection;
  readonly #overwrite: boolean;
  readonly #conditional: boolean;
  readonly #signal?: AbortSignal;
  readonly #queue: BatchQueue<Queued>;

  constructor(connection: ClientConnection, options: WholeFileBatchOptions = {}) {
    this.#connection = connection;
    this.#overwrite = options.overwrite ?? false;
    this.#conditional = options.conditional ?? false;
    this.#signal = options.signal;
    // Made here, not as a field: it needs the signal.
    const limits = {
      items: MAX_BATCH_FILES,
      contentBytes: MAX_BATCH_BYTES,
      requestBytes: MAX_FRAME_SIZE,
      fixedBytes: BATCH_FIELD_BYTES,
    };
    this.#queue = new BatchQueue<Queued>(limits, (batch) => this.#send(batch), this.#signal);
  }

  /**
   * Whether a file of `size` bytes for `remotePath` goes in a batch on
   * `connection`; else in a request of its own (a path too long for the
   * wire then fails that file alone, not its batch).
   */
  static usable(
    connection: ClientConnection,
    size: number,
    remotePath: string,
    conditional = false,
  ): boolean {
    const request = conditional ? "WriteFilesIf" : "WriteFiles";
    return size <= MAX_WHOLE_FILE_SIZE && connection.capabilities.includes(request) &&
      fitsPathField(remotePath);
  }

  /**
   * Reads `localPath` whole, queues it for `remotePath` (stored only while
   * that is as `expected` says, in a conditional batch), and resolves once
   * the server has stored it (rejects with its refusal or failure). Its
   * bytes count as moved, and the file as done, when it is stored.
   */
  async upload(
    localPath: string,
    remotePath: string,
    options: Pick<FileTransferOptions, "progress" | "limiter">,
    expected?: RemoteExpectation,
  ): Promise<TransferResult> {
    this.#signal?.throwIfAborted();
    if (this.#conditional !== (expected !== undefined)) {
      throw new Error("a conditional batch takes a condition with every file, and only it");
    }
    const whole = readSmallLocalFile(localPath, MAX_WHOLE_FILE_SIZE);
    if (whole === undefined) {
      // It grew past the batch's limit since the tree was walked: it goes on its own.
      const force = this.#overwrite;
      return await uploadFile(this.#connection, localPath, remotePath, {
        ...options,
        force,
        expected,
        signal: this.#signal,
      });
    }
    const { content, mtimeMs } = whole;
    options.progress.grow(content.length, 1);
    await options.limiter?.take(content.length, this.#signal);
    this.#signal?.throwIfAborted();
    const file = {
      path: remotePath,
      mtimeMs,
      size: content.length,
      sha256: createHash("sha256").update(content).digest(),
      expected: wireCondition(expected ?? { kind: "absent" }),
    };
    const fields = FILE_FIELD_BYTES + (this.#conditional ? CONDITION_BYTES : 0);
    const request = fields + encoder.encode(remotePath).length + content.length;
    const stored = new Promise<void>((resolve, reject) =>
      this.#queue.add({ file, content, resolve, reject }, { content: content.length, request })
    );
    await stored;
    options.progress.advance(content.length);
    options.progress.fileDone();
    return { bytes: content.length, resumedFrom: 0 };
  }

  /** Sends a batch as one request; each file's promise settles with its own outcome. */
  async #send(batch: Queued[]): Promise<void> {
    const content = concatBytes(...batch.map((queued) => queued.content));
    const frame = this.#conditional
      ? await this.#connection.call(Messages.WriteFilesIf, {
        files: batch.map((queued) => queued.file),
        content,
      })
      : await this.#connection.call(Messages.WriteFiles, {
        overwrite: this.#overwrite,
        files: batch.map(({ file: { expected: _, ...file } }) => file),
        content,
      });
    const { results } = decode(Messages.FileResults, frame);
    requireOnePerItem(results, batch);
    batch.forEach((queued, index) => {
      const { code, message } = results[index];
      if (code === 0) queued.resolve();
      else queued.reject(new RemoteError(code, message));
    });
  }
}
