/**
 * At most `maxActive` sessions at once; further connections wait in a FIFO
 * queue of at most `maxWaiting`, hear their position whenever it changes,
 * and are admitted as slots free. Past the queue bound: SERVER_BUSY.
 *
 * @module
 */

import { plural } from "../shared/plural.ts";

/** Called with a waiter's 1-based position and the queue length. */
export type PositionListener = (position: number, waiting: number) => void;

interface Waiter {
  admit: (release: () => void) => void;
  onPosition: PositionListener;
}

/** Thrown by {@link Admission.acquire} when the queue is full. */
export class QueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`server busy: ${plural(waiting, "connection")} already waiting`);
    this.name = "QueueFullError";
  }
}

/** Slots and a bounded waiting queue. */
export class Admission {
  #maxActive: number;
  #maxWaiting: number;
  #active = 0;
  #queue: Waiter[] = [];

  constructor(maxActive: number, maxWaiting: number) {
    this.#maxActive = maxActive;
    this.#maxWaiting = maxWaiting;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves with a release function once a slot is ours. `signal` aborts
   * the wait (the connection went away), removing us from the queue.
   */
  acquire(onPosition: PositionListener, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#maxActive && this.#queue.length === 0) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.#maxWaiting) {
      return Promise.reject(new QueueFullError(this.#queue.length));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { admit: resolve, onPosition };
      this.#queue.push(waiter);
      onPosition(this.#queue.length, this.#queue.length);
      signal?.addEventListener("abort", () => {
        const index = this.#queue.indexOf(waiter);
        if (index < 0) return;
        this.#queue.splice(index, 1);
        this.#announcePositions(index);
        reject(signal.reason);
      }, { once: true });
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#admitNext();
    };
  }

  #admitNext(): void {
    while (this.#active < this.#maxActive && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#active++;
      next.admit(this.#releaser());
    }
    this.#announcePositions(0);
  }

  #announcePositions(from: number): void {
    for (let index = from; index < this.#queue.length; index++) {
      this.#queue[index].onPosition(index + 1, this.#queue.length);
    }
  }
}
