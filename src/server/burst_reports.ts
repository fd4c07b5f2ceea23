/**
 * Reporting events that anyone who can reach the port can cause as fast as
 * they can connect (connections refused for want of room, say): the first
 * of a burst at once, then one sum at most every interval, so a flood costs
 * the log a line per interval, not a line per connection.
 *
 * @module
 */

/** Default interval between sums, ms. */
export const BURST_REPORT_MS = 10_000;

/** Where a {@link BurstReports} sends its lines. */
export interface BurstReporter<T> {
  /** The first event of a burst, reported as it happens. */
  first(event: T): void;
  /** `count` events since the last report; `latest` is the last of them. */
  more(count: number, latest: T): void;
}

/** Options of {@link BurstReports}. */
export interface BurstReportsOptions {
  /** Time between sums, ms. Default {@link BURST_REPORT_MS}. */
  intervalMs?: number;
}

/**
 * The first event at once, then a sum at most every `intervalMs`; an
 * interval without events ends the burst, so the next event is reported at
 * once again.
 *
 * @example
 * ```ts
 * const refusals = new BurstReports<string>({
 *   first: (remote) => console.warn(`refused ${remote}`),
 *   more: (count) => console.warn(`refused ${count} more`),
 * });
 * refusals.record("127.0.0.1:50000"); // logged now
 * refusals.record("127.0.0.1:50002"); // summed within 10 s
 * refusals.stop(); // "refused 1 more"
 * ```
 */
export class BurstReports<T> {
  #reporter: BurstReporter<T>;
  #intervalMs: number;
  #unreported = 0;
  #latest: T | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(reporter: BurstReporter<T>, options: BurstReportsOptions = {}) {
    this.#reporter = reporter;
    this.#intervalMs = options.intervalMs ?? BURST_REPORT_MS;
  }

  /** Counts one event: reported now if it starts a burst, else in the next sum. */
  record(event: T): void {
    this.#latest = event;
    if (this.#timer !== undefined) {
      this.#unreported++;
      return;
    }
    this.#reporter.first(event);
    this.#arm();
  }

  /** Reports what is left unreported, and stops the timer. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flush();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#unreported === 0) return; // The burst is over.
      this.#flush();
      this.#arm();
    }, this.#intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  #flush(): void {
    if (this.#unreported > 0) this.#reporter.more(this.#unreported, this.#latest as T);
    this.#unreported = 0;
  }
}
