/**
 * Which of a user's paths may have changed behind the server's back, so
 * that the server need not compare the whole tree with the journal's index
 * before every sync (PROTOCOL.md §5.9, "Changes behind the server's back").
 *
 * The folder is watched with the kernel's notifications (`Deno.watchFs`).
 * They are only a hint of *where* to look: each path an event names is
 * compared with the index like any path a request touches, so the server's
 * own changes (which the index already holds) cost a stat each and an
 * outside change is found. What the hint cannot be trusted for, it does
 * not claim: the whole tree is to be compared again
 *
 * - when a run of events came so fast that the runtime may have dropped
 *   some ({@link BURST_EVENTS} within {@link BURST_MS}; its queue is short),
 * - when more paths were touched than it keeps ({@link MAX_TOUCHED}),
 * - when the watch failed (a big tree can run out of kernel watches),
 * - and {@link RECHECK_AFTER_MS} after the last full comparison, as a
 *   safety net for anything the kernel does not report.
 *
 * @module
 */

/** This many events within {@link BURST_MS} may have overflowed the runtime's queue. */
export const BURST_EVENTS = 16;
export const BURST_MS = 5;
/** A full comparison older than this is done again, whatever the watch says. */
export const RECHECK_AFTER_MS = 10 * 60_000;
/** Distinct paths kept; past it the whole tree is compared instead. */
export const MAX_TOUCHED = 4096;

/** What to compare with the index: the whole tree, or the paths events named. */
export type TouchedPaths = "all" | string[];

/** Watches one folder; see the module documentation. */
export class TreeWatch {
  readonly #root: string;
  readonly #reserved: string;
  readonly #now: () => number;
  #watcher: Deno.FsWatcher | undefined;
  #touched = new Set<string>();
  /** The paths seen cannot be trusted to be all: compare everything. */
  #lost = true;
  #lastFullMs = 0;
  #arrivals: number[] = [];

  /**
   * Starts watching `root` (a real path); `reserved` is the server's
   * private folder's name at its top, whose changes are its own.
   * Undefined if the folder cannot be watched.
   */
  static start(
    root: string,
    reserved: string,
    now = () => performance.now(),
  ): TreeWatch | undefined {
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(root, { recursive: true });
    } catch {
      return undefined;
    }
    const watch = new TreeWatch(root, reserved, now);
    watch.#watcher = watcher;
    watch.#read(watcher);
    return watch;
  }

  private constructor(root: string, reserved: string, now: () => number) {
    this.#root = root.endsWith("/") ? root.slice(0, -1) : root;
    this.#reserved = `/${reserved}`;
    this.#now = now;
  }

  /**
   * What to compare now, and forgets it: "all" (then a full comparison is
   * taken to start at once), or the virtual paths touched since the last
   * call, sorted (possibly none).
   */
  take(): TouchedPaths {
    const now = this.#now();
    if (this.#lost || this.#watcher === undefined || now - this.#lastFullMs > RECHECK_AFTER_MS) {
      this.#touched.clear();
      this.#lost = this.#watcher === undefined;
      this.#lastFullMs = now;
      return "all";
    }
    const paths = [...this.#touched].sort();
    this.#touched.clear();
    return paths;
  }

  /** Stops watching; from then on every {@link take} answers "all". */
  close(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    this.#lost = true;
    try {
      watcher?.close();
    } catch { /* already closed */ }
  }

  /** One kernel event on the real `paths` (the watcher's reader calls this; so may a test). */
  notice(paths: string[]): void {
    const now = this.#now();
    this.#arrivals.push(now);
    if (this.#arrivals.length > BURST_EVENTS) this.#arrivals.shift();
    if (this.#arrivals.length === BURST_EVENTS && now - this.#arrivals[0] <= BURST_MS) {
      this.#lost = true; // The runtime's queue may have been full: events may be lost.
    }
    for (const path of paths) {
      const virtual = this.#virtual(path);
      if (virtual !== undefined) this.#touched.add(virtual);
    }
    if (this.#touched.size > MAX_TOUCHED) {
      this.#lost = true;
      this.#touched.clear();
    }
  }

  async #read(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        if (event.kind !== "access") this.notice(event.paths);
      }
    } catch { /* failed: it no longer watches */ }
    if (this.#watcher === watcher) this.close();
  }

  /** The virtual path of a real one; undefined for the private folder and outside paths. */
  #virtual(path: string): string | undefined {
    if (path === this.#root) return undefined; // The root's own attributes: nothing in it.
    if (!path.startsWith(`${this.#root}/`)) return undefined;
    const virtual = path.slice(this.#root.length);
    if (virtual === this.#reserved || virtual.startsWith(`${this.#reserved}/`)) return undefined;
    return virtual;
  }
}
