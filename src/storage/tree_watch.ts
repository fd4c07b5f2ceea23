/**
 * Which of a user's paths may have changed behind the server's back, so
 * that the server need not compare the whole tree with the journal's index
 * before every sync (PROTOCOL.md §5.9, "Changes behind the server's back").
 *
 * The folders are watched with the kernel's notifications (`Deno.watchFs`),
 * each folder on its own (never recursively: a recursive watch follows
 * symbolic links, and would list and watch whatever a planted link points
 * to outside the user's root). The server tells the watch which folders
 * there are, as a comparison finds them ({@link TreeWatch.watchFolders}).
 * The notifications are only a hint of *where* to look: each path an event
 * names is compared with the index like any path a request touches, so the
 * server's own changes (which the index already holds) cost a stat each
 * and an outside change is found. What the hint cannot be trusted for, it
 * does not claim: the whole tree is to be compared again
 *
 * - when a run of events came so fast that the runtime may have dropped
 *   some ({@link BURST_EVENTS} within {@link BURST_MS}; its queue is short),
 * - when more paths were touched than it keeps ({@link MAX_TOUCHED}),
 * - when a watch failed or could not be added (the kernel's limit on
 *   watches), or more folder sets were added than {@link MAX_WATCHERS},
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
/** Folder sets watched at once; past it the watch gives up and every comparison is whole. */
export const MAX_WATCHERS = 256;

/** What to compare with the index: the whole tree, or the paths events named. */
export type TouchedPaths = "all" | string[];

/** Watches one folder; see the module documentation. */
export class TreeWatch {
  readonly #root: string;
  readonly #reserved: string;
  readonly #now: () => number;
  #watchers: Deno.FsWatcher[] = [];
  /** Watchers closed because a new set replaced them: their end is no failure. */
  readonly #retired = new WeakSet<Deno.FsWatcher>();
  #closed = false;
  #touched = new Set<string>();
  /** The paths seen cannot be trusted to be all: compare everything. */
  #lost = true;
  #lastFullMs = 0;
  #arrivals: number[] = [];

  /**
   * A watch of the folders under `root` (a real path) the server will name;
   * `reserved` is the server's private folder's name at its top, whose
   * changes are its own.
   */
  static start(root: string, reserved: string, now = () => performance.now()): TreeWatch {
    return new TreeWatch(root, reserved, now);
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
    if (this.#lost || now - this.#lastFullMs > RECHECK_AFTER_MS) {
      this.#touched.clear();
      this.#lost = this.#closed;
      this.#lastFullMs = now;
      return "all";
    }
    const paths = [...this.#touched].sort();
    this.#touched.clear();
    return paths;
  }

  /**
   * Watches these folders (virtual paths) too, each on its own. A folder
   * that cannot be watched makes the watch give up: from then on every
   * {@link take} answers "all".
   */
  watchFolders(folders: string[], options: { replacing?: boolean } = {}): void {
    if (this.#closed || folders.length === 0) return;
    if (!options.replacing && this.#watchers.length >= MAX_WATCHERS) return this.close();
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(folders.map((folder) => this.#real(folder)), { recursive: false });
    } catch {
      return this.close(); // Gone meanwhile, or out of kernel watches: it cannot vouch.
    }
    // The new set is in place before the old ones go, so no moment goes unwatched.
    const old = options.replacing ? this.#watchers.splice(0) : [];
    this.#watchers.push(watcher);
    this.#read(watcher);
    for (const retired of old) this.#retire(retired);
  }

  #retire(watcher: Deno.FsWatcher): void {
    this.#retired.add(watcher);
    try {
      watcher.close();
    } catch { /* already closed */ }
  }

  /** Stops watching; from then on every {@link take} answers "all". */
  close(): void {
    this.#closed = true;
    this.#lost = true;
    for (const watcher of this.#watchers.splice(0)) {
      try {
        watcher.close();
      } catch { /* already closed */ }
    }
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
    // A watcher that ended while in use: what it missed is unknown.
    if (!this.#closed && !this.#retired.has(watcher)) this.close();
  }

  #real(virtual: string): string {
    return virtual === "/" ? this.#root : `${this.#root}${virtual}`;
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
