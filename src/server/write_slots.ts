/**
 * The whole files of one session being written and synced at once. Each
 * holds a descriptor (its private file) until its bytes are synced, and the
 * requests of a session's pipeline overlap: without a bound shared by all of
 * them, eight batches of a sync in the pipeline could hold 128 descriptors
 * for one session. A slot is held only while a file is written and synced,
 * never while it waits for its turn behind other requests, so no request
 * waits for a slot that a later one holds while waiting for it.
 *
 * @module
 */

/** Files of a session written and synced at once (16 kept this disk busy; 32 were no faster). */
export const WRITES_AT_ONCE = 16;

/**
 * A count of free slots, handed over in the order they were asked for.
 *
 * @example
 * ```ts
 * const slots = new WriteSlots();
 * const release = await slots.acquire();
 * try {
 *   await writeAndSync();
 * } finally {
 *   release(); // Once is enough; again does nothing.
 * }
 * ```
 */
export class WriteSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(slots = WRITES_AT_ONCE) {
    this.#free = slots;
  }

  /** Resolves once a slot is this caller's, with the function that gives it back. */
  acquire(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.#releaser())));
  }

  /** Gives the slot to the longest waiter, or back to the pool; only the first call counts. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#free++;
      else next();
    };
  }
}
