/**
 * The queue behind the many-files requests (`WriteFiles`, `ReadFiles`):
 * items go in as a tree transfer reaches them, and out as one request when
 * the next would not fit (by count, content bytes or request bytes) or when
 * nothing more was queued in the same turn of the event loop. A batch that
 * cannot go out (the transfer was cancelled) or whose request fails as a
 * whole fails each of its items with that reason.
 *
 * @module
 */

import { MAX_PATH_BYTES } from "../protocol/constants.ts";

const encoder = new TextEncoder();

/** Whether `path` fits a path field of the wire (longer, it fails alone, in a request of its own). */
export function fitsPathField(path: string): boolean {
  return path.length * 3 <= MAX_PATH_BYTES || encoder.encode(path).length <= MAX_PATH_BYTES;
}

/** What one item takes of a request. */
export interface BatchCost {
  /** Bytes of file content it brings (sent or expected back). */
  content: number;
  /** Bytes its fields take in the request frame. */
  request: number;
}

/** The bounds of one request. */
export interface BatchLimits {
  items: number;
  contentBytes: number;
  requestBytes: number;
  /** Bytes the request frame takes whatever its items. */
  fixedBytes: number;
}

/** What the queue needs of an item: a way to fail it. */
export interface BatchItem {
  reject(error: unknown): void;
}

/**
 * Items waiting for their request; `send` gets each full (or idle) batch
 * and settles each item itself, unless it rejects (then all fail with it).
 *
 * @example
 * ```ts
 * const queue = new BatchQueue<Item>(limits, (items) => sendReadFiles(items));
 * queue.add({ path: "/a.txt", reject }, { content: 120, request: 10 });
 * ```
 */
export class BatchQueue<T extends BatchItem> {
  readonly #limits: BatchLimits;
  readonly #send: (items: T[]) => Promise<void>;
  readonly #signal?: AbortSignal;
  #items: T[] = [];
  #contentBytes = 0;
  #requestBytes: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `signal`: once aborted, nothing more is sent, and what is queued fails with its reason. */
  constructor(limits: BatchLimits, send: (items: T[]) => Promise<void>, signal?: AbortSignal) {
    this.#limits = limits;
    this.#send = send;
    this.#signal = signal;
    this.#requestBytes = limits.fixedBytes;
  }

  /** Queues `item`; sends the batch before it first if `item` would not fit in it. */
  add(item: T, cost: BatchCost): void {
    const full = this.#items.length === this.#limits.items ||
      this.#contentBytes + cost.content > this.#limits.contentBytes ||
      this.#requestBytes + cost.request > this.#limits.requestBytes;
    if (full) this.flush();
    this.#items.push(item);
    this.#contentBytes += cost.content;
    this.#requestBytes += cost.request;
    // What the tree queues in this turn of the event loop goes together.
    this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /** Sends what is queued, if anything. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const items = this.#items;
    this.#items = [];
    this.#contentBytes = 0;
    this.#requestBytes = this.#limits.fixedBytes;
    if (items.length === 0) return;
    const failAll = (error: unknown) => items.forEach((item) => item.reject(error));
    if (this.#signal?.aborted) return failAll(this.#signal.reason);
    this.#send(items).catch(failAll);
  }
}

/** Throws unless the server answered `answers` one for each of `items`. */
export function requireOnePerItem(answers: readonly unknown[], items: readonly unknown[]): void {
  if (answers.length !== items.length) {
    throw new Error(`the server answered ${answers.length} of ${items.length} files`);
  }
}
