/**
 * The parts of one upload on their way to the object store: up to
 * {@link MAX_PARTS_IN_FLIGHT} stored at once, so the client's bytes keep
 * arriving while a part is stored. Each part is recorded by the caller's
 * `store` as it completes, in order of completion; so an upload stopped with
 * parts in flight may have a part recorded after a gap, and resumes from the
 * gap (object_upload_start.ts keeps only parts 1..n without a gap).
 *
 * Memory per upload: the parts in flight and the one being filled, each of
 * {@link PART_SIZE}; never the whole file.
 *
 * @module
 */

import type { UploadPart } from "../../database/upload_records.ts";
import { PART_SIZE } from "./object_backend.ts";

/** Parts of one upload stored at the same time. */
export const MAX_PARTS_IN_FLIGHT = 2;

/** Stores part `number` and records it; resolves to the part as recorded. */
export type PartStorer = (number: number, bytes: Uint8Array) => Promise<UploadPart>;

/** The completed and in-flight parts of one upload. */
export class PartPipeline {
  readonly #store: PartStorer;
  readonly #completed: UploadPart[];
  readonly #inFlight = new Map<number, Promise<void>>();
  /** The bytes of parts whose storing failed, by number (to keep as a tail). */
  readonly #failed = new Map<number, Uint8Array>();
  /** Buffers of stored parts, for the next parts to fill. */
  readonly #spare: Uint8Array[] = [];
  /** Number of the first part sent here (the part holding a resumed upload's tail). */
  readonly firstNew: number;
  #next: number;
  #failure: { error: unknown } | undefined;

  /** `completed`: the parts stored before (1..n, no gap). */
  constructor(completed: UploadPart[], store: PartStorer) {
    this.#completed = [...completed];
    this.firstNew = completed.length + 1;
    this.#next = this.firstNew;
    this.#store = store;
  }

  /** Whether any part was sent or had been completed before. */
  get started(): boolean {
    return this.#next > 1;
  }

  /** The first failure of a part, if any: the upload cannot go on. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /** A buffer of `length` bytes to fill: a stored part's when it fits. */
  buffer(length: number): Uint8Array {
    if (length === PART_SIZE && this.#spare.length > 0) return this.#spare.pop()!;
    return new Uint8Array(length);
  }

  /** Sends `bytes` as the next part once fewer than {@link MAX_PARTS_IN_FLIGHT} are in flight. */
  async send(bytes: Uint8Array): Promise<void> {
    while (this.#inFlight.size >= MAX_PARTS_IN_FLIGHT) await Promise.race(this.#inFlight.values());
    if (this.#failure) throw this.#failure.error;
    const number = this.#next++;
    const storing = this.#store(number, bytes).then(
      (part) => {
        this.#completed.push(part);
        if (bytes.length === PART_SIZE && this.#spare.length === 0) this.#spare.push(bytes);
      },
      (error) => {
        this.#failed.set(number, bytes);
        this.#failure ??= { error };
      },
    ).finally(() => this.#inFlight.delete(number));
    this.#inFlight.set(number, storing);
  }

  /** Waits for every part in flight to be stored and recorded, or to fail. Never rejects. */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values());
  }

  /** The completed parts, by number (to complete the multipart upload). */
  parts(): UploadPart[] {
    return [...this.#completed].sort((a, b) => a.number - b.number);
  }

  /**
   * After {@link settle}: the bytes of the lowest part that failed, which
   * follow the last part stored without a gap; undefined if none failed.
   */
  firstFailedBytes(): Uint8Array | undefined {
    const lowest = Math.min(...this.#failed.keys());
    return this.#failed.get(lowest);
  }

  /** Drops every buffer. */
  clear(): void {
    this.#failed.clear();
    this.#spare.length = 0;
  }
}
