/**
 * Reading a file of the object-store backend: ranged GETs streamed as the
 * bytes arrive. A reader going forward (a download) keeps one stream open
 * from its first position to the end of the object; a read elsewhere drops
 * it and starts a new range there. Nothing holds more than the chunk the
 * store sent last.
 *
 * @module
 */

import { STATUS } from "../../protocol/status.ts";
import { type ReadHandle, StorageError } from "../storage.ts";
import type { ObjectStore } from "./object_store.ts";
import { toStorageFailure } from "./object_failures.ts";

/** What the handle reads: the object holding a file, and the file's entry. */
export interface ObjectReadTarget {
  /** The file's path, for messages. */
  path: string;
  key: string;
  size: number;
  mtimeMs: number;
}

/**
 * A {@link ReadHandle} over one immutable object.
 *
 * @example
 * ```ts
 * const handle = new ObjectReadHandle(store, { path: "/a.txt", key, size: 10, mtimeMs: 0 });
 * const count = await handle.read(new Uint8Array(65536), 0);
 * handle.close();
 * ```
 */
export class ObjectReadHandle implements ReadHandle {
  readonly size: number;
  readonly mtimeMs: number;
  readonly #store: ObjectStore;
  readonly #target: ObjectReadTarget;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** The position the open stream's next byte is at. */
  #streamPosition = 0;
  /** Bytes of the last chunk not yet handed out. */
  #pending: Uint8Array = new Uint8Array(0);
  #closed = false;

  constructor(store: ObjectStore, target: ObjectReadTarget) {
    this.#store = store;
    this.#target = target;
    this.size = target.size;
    this.mtimeMs = target.mtimeMs;
  }

  /** Reads into `buffer` at `position`; resolves to bytes read, or null at end of file. */
  async read(buffer: Uint8Array, position: number): Promise<number | null> {
    if (this.#closed) {
      throw new StorageError(STATUS.IO_ERROR, `${this.#target.path}: the file is closed`);
    }
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new StorageError(STATUS.BAD_REQUEST, `${this.#target.path}: bad read position`);
    }
    if (position >= this.size) return buffer.length > 0 ? null : 0;
    if (buffer.length === 0) return 0;
    if (this.#reader === null || position !== this.#streamPosition) await this.#seek(position);
    let filled = 0;
    while (filled < buffer.length && this.#streamPosition < this.size) {
      if (this.#pending.length === 0 && !await this.#nextChunk()) break;
      const count = Math.min(this.#pending.length, buffer.length - filled);
      buffer.set(this.#pending.subarray(0, count), filled);
      this.#pending = this.#pending.subarray(count);
      this.#streamPosition += count;
      filled += count;
      // Hand out what arrived rather than wait for more: the caller asks again.
      if (this.#pending.length === 0) break;
    }
    return filled;
  }

  /** Stops reading; later calls fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drop();
  }

  async #seek(position: number): Promise<void> {
    this.#drop();
    try {
      const { body } = await this.#store.read(this.#target.key, { offset: position });
      this.#reader = body.getReader();
    } catch (error) {
      throw toStorageFailure(error, this.#target.path);
    }
    this.#streamPosition = position;
  }

  /** Takes the next chunk of the stream; false at its end (before the object's: an error). */
  async #nextChunk(): Promise<boolean> {
    try {
      const { value, done } = await this.#reader!.read();
      if (!done) {
        this.#pending = value;
        return true;
      }
    } catch (error) {
      this.#drop();
      throw toStorageFailure(error, this.#target.path);
    }
    this.#drop();
    throw new StorageError(
      STATUS.IO_ERROR,
      `${this.#target.path}: the object store ended the file at ${this.#streamPosition} of ${this.size} bytes`,
    );
  }

  #drop(): void {
    const reader = this.#reader;
    this.#reader = null;
    this.#pending = new Uint8Array(0);
    reader?.cancel().catch(() => {});
  }
}
