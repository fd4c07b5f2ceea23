/**
 * At most N tasks at once; the rest wait their turn in order.
 *
 * @module
 */

/** Bounds how many tasks run at once. */
export class Semaphore {
  #free: number;
  #waiting: (() => void)[] = [];

  constructor(slots: number) {
    if (!(slots >= 1)) throw new RangeError(`a semaphore needs at least one slot, got ${slots}`);
    this.#free = slots;
  }

  /** Runs `task` once a slot is free, and frees the slot when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
