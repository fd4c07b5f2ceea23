/**
 * The one way a server begins its graceful shutdown, whatever asks first:
 * SIGINT, SIGTERM, or `dfos server stop` over the control socket. Each cause
 * is logged once; a later one only hears that the shutdown is under way.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";

/** Starts `shutdown` once; `stopped` resolves when it has finished. */
export class GracefulStop {
  /** Resolves when the shutdown has finished. */
  readonly stopped: Promise<void>;
  #shutdown: () => Promise<void>;
  #finish: () => void = () => {};
  #startedAt: number | undefined;

  constructor(shutdown: () => Promise<void>) {
    this.#shutdown = shutdown;
    this.stopped = new Promise((resolve) => this.#finish = resolve);
  }

  /** Whether the shutdown has begun. */
  get started(): boolean {
    return this.#startedAt !== undefined;
  }

  /** Milliseconds since the shutdown began (undefined before). */
  get sinceStart(): number | undefined {
    return this.#startedAt === undefined ? undefined : performance.now() - this.#startedAt;
  }

  /**
   * Begins the shutdown, after `announce` (which logs its cause); false,
   * with nothing done, if it had begun already.
   */
  begin(announce: () => void): boolean {
    if (this.#startedAt !== undefined) return false;
    this.#startedAt = performance.now();
    announce();
    this.#shutdown().then(this.#finish);
    return true;
  }
}

/**
 * One Ctrl-C can arrive twice: the terminal signals the whole process group,
 * and a launcher in it (`deno task`, a shell script) forwards the signal to
 * the server as well. Signals this soon after the first are that same event.
 */
const SAME_SIGNAL_MS = 1_000;

/** The signal listeners of {@link stopOnSignals}. */
export interface StopSignals {
  /** From now on a signal is taken, and nothing said of it (the log is closing). */
  quiet(): void;
}

/**
 * Begins `stop` at SIGINT or SIGTERM, logging the signal; a later signal
 * only says that the shutdown is under way. The listeners stay for the
 * rest of the process: once taken away, a signal during the last steps of
 * exiting (the runtime's own included) would end it by the default action,
 * by signal rather than with its exit code.
 */
export function stopOnSignals(stop: GracefulStop): StopSignals {
  let quiet = false;
  const onSignal = (signal: Deno.Signal) => {
    if (quiet || stop.begin(() => serverLog.info("received {signal}", { signal }))) return;
    if (stop.sinceStart! > SAME_SIGNAL_MS) {
      serverLog.info("received {signal} again; the shutdown is already under way", { signal });
    }
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => onSignal(signal));
  }
  return { quiet: () => quiet = true };
}
