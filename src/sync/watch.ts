/**
 * `sync --watch`: runs the sync again whenever something may have changed,
 * never two runs at once. Triggers are hints, and any of them may be lost:
 * local file events (debounced), the server's notice that the user's journal
 * moved, and a periodic rescan that catches whatever the hints missed (the
 * runtime's watcher drops events under load, and runs out of inotify watches
 * on big trees, in which case the folder is polled instead).
 *
 * @module
 */

/** Options of {@link WatchScheduler}. */
export interface WatchSchedulerOptions {
  /** Quiet time after a local event before a run starts, ms. Default 300. */
  debounceMs?: number;
  /** A run at least this often even without events, ms. Default 60,000. */
  rescanMs?: number;
  /** Ends the loop. */
  signal?: AbortSignal;
}

/** Why a run started. */
export type WatchTrigger = "start" | "local" | "remote" | "rescan";

/**
 * Calls `run` once at the start, then whenever triggered: `local()` after a
 * quiet `debounceMs`, `remote()` at once, and every `rescanMs` regardless.
 * Triggers that arrive during a run cause exactly one more run after it.
 * A run that throws ends the loop with that error.
 */
export class WatchScheduler {
  readonly #run: (trigger: WatchTrigger) => Promise<void>;
  readonly #debounceMs: number;
  readonly #rescanMs: number;
  readonly #signal?: AbortSignal;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #rescan: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  #pending: WatchTrigger | undefined = "start";

  constructor(run: (trigger: WatchTrigger) => Promise<void>, options: WatchSchedulerOptions = {}) {
    this.#run = run;
    this.#debounceMs = options.debounceMs ?? 300;
    this.#rescanMs = options.rescanMs ?? 60_000;
    this.#signal = options.signal;
  }

  /** Something changed locally: run once things have been quiet for a moment. */
  local(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#trigger("local"), this.#debounceMs);
  }

  /** The server says something changed: run now (or right after the current run). */
  remote(): void {
    this.#trigger("remote");
  }

  /** Runs until the signal aborts; resolves then, or rejects with a run's error. */
  async loop(): Promise<void> {
    const stop = () => this.#wake?.();
    this.#signal?.addEventListener("abort", stop, { once: true });
    try {
      while (!this.#signal?.aborted) {
        const trigger = this.#pending;
        if (trigger === undefined) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          continue;
        }
        this.#pending = undefined;
        clearTimeout(this.#rescan);
        await this.#run(trigger);
        this.#rescan = setTimeout(() => this.#trigger("rescan"), this.#rescanMs);
      }
    } finally {
      this.#signal?.removeEventListener("abort", stop);
      clearTimeout(this.#debounce);
      clearTimeout(this.#rescan);
    }
  }

  #trigger(trigger: WatchTrigger): void {
    this.#pending ??= trigger;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** What {@link watchLocalFolder} does when the runtime cannot watch the folder. */
export interface LocalWatchOptions {
  /** Told of each burst of events. */
  onChange(): void;
  /** Told once if watching failed (too many folders for inotify, say) and polling took over. */
  onFallback?(error: unknown): void;
  /** Polling interval once watching failed, ms. Default 2,000. */
  pollMs?: number;
  signal: AbortSignal;
}

/**
 * Watches `root` recursively and calls `onChange` for every event batch; if
 * the watcher cannot start or fails, polls instead (calls `onChange` every
 * `pollMs`: a run whose scan finds nothing changed costs only stat calls).
 */
export async function watchLocalFolder(root: string, options: LocalWatchOptions): Promise<void> {
  let watcher: Deno.FsWatcher | undefined;
  const close = () => watcher?.close();
  options.signal.addEventListener("abort", close, { once: true });
  try {
    watcher = Deno.watchFs(root, { recursive: true });
    for await (const _event of watcher) options.onChange();
  } catch (error) {
    if (options.signal.aborted) return;
    options.onFallback?.(error);
    await poll(options);
  } finally {
    options.signal.removeEventListener("abort", close);
    close();
  }
}

async function poll(options: LocalWatchOptions): Promise<void> {
  while (!options.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.pollMs ?? 2_000);
      options.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (!options.signal.aborted) options.onChange();
  }
}
