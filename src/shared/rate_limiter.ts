/**
 * A token bucket that paces a flow to a rate. Taking more than is available
 * puts the bucket in debt and waits it off, so the long-run average holds
 * exactly while single large takes (a 256 KiB chunk) are allowed.
 *
 * @module
 */

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Units a burst may use at once. Default: a tenth of a second's worth. */
  burst?: number;
  /** The clock, ms (for tests). Default `performance.now`. */
  now?: () => number;
  /** How to wait, ms (for tests). Default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** Paces takes to `rate` units per second. */
export class RateLimiter {
  readonly rate: number;
  #burst: number;
  #tokens: number;
  #last: number;
  #now: () => number;
  #sleep: (ms: number) => Promise<void>;
  #queue: Promise<void> = Promise.resolve();

  constructor(rate: number, options: RateLimiterOptions = {}) {
    if (!(rate > 0)) throw new RangeError(`a rate must be positive, got ${rate}`);
    this.rate = rate;
    this.#burst = options.burst ?? Math.max(rate / 10, 1);
    this.#tokens = this.#burst;
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#last = this.#now();
  }

  /**
   * Resolves when `units` may pass. Concurrent takers are served in order.
   * Once `signal` is aborted it resolves at once, without waiting its turn:
   * a cancelled transfer stops rather than waits.
   */
  take(units: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    const turn = this.#queue.then(() => signal?.aborted ? undefined : this.#wait(units));
    this.#queue = turn;
    return signal ? untilAborted(turn, signal) : turn;
  }

  async #wait(units: number): Promise<void> {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    this.#tokens -= units;
    if (this.#tokens < 0) await this.#sleep((-this.#tokens / this.rate) * 1000);
  }
}

/** `promise`, or an earlier resolution when `signal` is aborted. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => resolve();
    signal.addEventListener("abort", stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}
