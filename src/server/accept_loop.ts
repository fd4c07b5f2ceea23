/**
 * Accepting connections the way a server must to survive a flood or a
 * descriptor shortage: a failed accept (out of file descriptors, say) is
 * retried with a growing pause and reported once per run of failures, except
 * when the failure is only that one connection's (its peer reset it while it
 * waited to be accepted: anyone can cause that, so it costs no pause); at
 * most `maxConnections` are held at once, and the newest beyond that is
 * closed at once (reported at most every {@link REFUSAL_REPORT_MS}); closing
 * the listener ends the loop, whatever it was doing.
 *
 * @module
 */

import { BURST_REPORT_MS, BurstReports } from "./burst_reports.ts";

/** First pause after a failed accept, ms; it doubles up to {@link MAX_BACKOFF_MS}. */
export const FIRST_BACKOFF_MS = 10;
/** Longest pause between accept attempts, ms. */
export const MAX_BACKOFF_MS = 1_000;
/** Refusals beyond the first of a run are summed up this often, ms. */
export const REFUSAL_REPORT_MS = BURST_REPORT_MS;

/** What the loop tells its owner (for the log). */
export interface AcceptReports {
  /** The first accept of a run failed; the loop keeps retrying. */
  failing(error: unknown): void;
  /** An accept succeeded again after `failures` failed ones over `ms`. */
  recovered(failures: number, ms: number): void;
  /**
   * Connections were closed for want of room: `count` of them (the first of a
   * run alone, then those since the last report); `open` are held.
   */
  refused(count: number, open: number): void;
}

/** Options of {@link acceptConnections}. */
export interface AcceptOptions {
  /** Connections held at once. */
  maxConnections: number;
  /** Called for every connection held; it must call `release` once the connection is closed. */
  onConnection(conn: Deno.TcpConn, release: () => void): void;
  reports: AcceptReports;
  /** Aborted when the server shuts down (the listener is closed too). */
  signal: AbortSignal;
}

/** Accepts until the listener is closed or `signal` is aborted; never rejects. */
export async function acceptConnections(
  listener: Deno.Listener<Deno.TcpConn>,
  options: AcceptOptions,
): Promise<void> {
  let open = 0;
  const { reports } = options;
  const refusals = new BurstReports<number>({
    first: (open) => reports.refused(1, open),
    more: (count, open) => reports.refused(count, open),
  });
  const failures = new FailureRun(options.reports);
  const release = () => open--;
  while (!options.signal.aborted) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (options.signal.aborted || isListenerClosed(error)) break;
      if (isPeersDoing(error)) continue;
      await pause(failures.record(error), options.signal);
      continue;
    }
    failures.end();
    if (open >= options.maxConnections) {
      closeQuietly(conn);
      refusals.record(open);
      continue;
    }
    open++;
    let released = false;
    options.onConnection(conn, () => {
      if (!released) release();
      released = true;
    });
  }
  refusals.stop();
}

function isListenerClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted;
}

/**
 * Whether a failed accept was about the one connection it would have
 * returned, gone before it was accepted (ECONNABORTED, ECONNRESET,
 * ENOTCONN): the next one may be accepted at once.
 */
function isPeersDoing(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.NotConnected;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // The peer is gone already.
  }
}

/** Waits `ms`, or less if `signal` is aborted first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A run of failed accepts: reported when it starts and when it ends; the pause to take. */
class FailureRun {
  #reports: AcceptReports;
  #failures = 0;
  #since = 0;
  #backoff = FIRST_BACKOFF_MS;

  constructor(reports: AcceptReports) {
    this.#reports = reports;
  }

  /** Counts a failure; returns how long to wait before the next attempt, ms. */
  record(error: unknown): number {
    if (this.#failures === 0) {
      this.#since = performance.now();
      this.#backoff = FIRST_BACKOFF_MS;
      this.#reports.failing(error);
    }
    this.#failures++;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
    return wait;
  }

  end(): void {
    if (this.#failures === 0) return;
    this.#reports.recovered(this.#failures, Math.round(performance.now() - this.#since));
    this.#failures = 0;
  }
}
