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

/**
 * Begins `stop` at SIGINT or SIGTERM, logging the signal; a later signal
 * only says that the shutdown is under way. Returns a function that takes
 * the listeners away again.
 */
export function stopOnSignals(stop: GracefulStop): () => void {
  const onSignal = (signal: Deno.Signal) => {
    if (stop.begin(() => serverLog.info("received {signal}", { signal }))) return;
    if (stop.sinceStart! > SAME_SIGNAL_MS) {
      serverLog.info("received {signal} again; the shutdown is already under way", { signal });
    }
  };
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => onSignal(signal);
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  return () => listeners.forEach((remove) => remove());
}
