/**
 * Waiters by key: code that waits for something to happen to a key (a
 * user's session to close, a partial to be let go) parks here with a
 * deadline, and whoever makes it happen wakes every waiter of that key.
 *
 * @module
 */

/** Parked waiters, by key. */
export class KeyWaiters<K> {
  #waiting = new Map<K, Set<() => void>>();

  /** Resolves when {@link wakeAll} is called for `key`, or after `ms`. Never rejects. */
  wait(key: K, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiting = this.#waiting.get(key);
      if (!waiting) this.#waiting.set(key, waiting = new Set());
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.#waiting.get(key) === waiting) this.#waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiting.add(wake);
    });
  }

  /** Wakes every waiter of `key`. */
  wakeAll(key: K): void {
    const waiting = this.#waiting.get(key);
    if (!waiting) return;
    this.#waiting.delete(key);
    for (const wake of waiting) wake();
  }
}
