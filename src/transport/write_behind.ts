/**
 * Writes to a socket in the background, a bounded number of bytes ahead of
 * it: the producer (the TLS layer, handing over one encrypted piece at a
 * time and waiting for each) goes on at once while earlier pieces are still
 * being written, and pieces that queue up meanwhile leave in one write.
 *
 * @module
 */

import { type ByteSink, writeAll } from "../protocol/frame_writer.ts";

/** A writer waiting for room. */
interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Background writes to `sink`, at most `limit` bytes queued. */
export class WriteBehind {
  #sink: ByteSink;
  #limit: number;
  /** Bytes waiting for the next write, copied into one buffer as they come. */
  #batch = new Uint8Array(0);
  /** The buffer of the write in flight, or of the last one: the next batch's once that is done. */
  #spare = new Uint8Array(0);
  #queued = 0;
  #writing: Promise<void> | undefined;
  #failure: unknown = undefined;
  #waiters: Waiter[] = [];

  constructor(sink: ByteSink, limit: number) {
    this.#sink = sink;
    this.#limit = limit;
  }

  /**
   * Queues a copy of `bytes` (the caller may reuse its buffer at once);
   * resolves when there is room for more: at once below the limit. Rejects
   * once a write has failed.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    this.#append(bytes);
    this.#writing ??= this.#drain();
    if (this.#queued < this.#limit) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Resolves once everything queued has been written; rejects if a write failed. */
  async flushed(): Promise<void> {
    await this.#writing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  #append(bytes: Uint8Array): void {
    if (this.#queued + bytes.length > this.#batch.length) {
      const needed = this.#queued + bytes.length;
      const grown = new Uint8Array(Math.max(needed, Math.min(2 * this.#batch.length, this.#limit)));
      grown.set(this.#batch.subarray(0, this.#queued));
      this.#batch = grown;
    }
    this.#batch.set(bytes, this.#queued);
    this.#queued += bytes.length;
  }

  async #drain(): Promise<void> {
    while (this.#queued > 0 && this.#failure === undefined) {
      const batch = this.#batch.subarray(0, this.#queued);
      // Later bytes go to the other buffer while this one is written.
      [this.#batch, this.#spare] = [this.#spare, this.#batch];
      this.#queued = 0;
      this.#wake();
      try {
        await writeAll(this.#sink, batch);
      } catch (error) {
        this.#failure = error;
        this.#wake();
      }
    }
    this.#writing = undefined;
  }

  /** Lets waiting writers go on (or fail) once there is room. */
  #wake(): void {
    if (this.#failure === undefined && this.#queued >= this.#limit) return;
    for (const waiter of this.#waiters.splice(0)) {
      if (this.#failure === undefined) waiter.resolve();
      else waiter.reject(this.#failure);
    }
  }
}
