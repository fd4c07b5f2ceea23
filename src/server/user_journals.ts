/**
 * Each user's change journal, open once for the whole server process and
 * shared by that user's sessions, with the user's commit lock. A journal
 * opens when a session first needs it (a change to record, a sync request)
 * and closes {@link JOURNAL_LINGER_MS} after the user's last session ends,
 * or at shutdown. The tree is compared with its index when the journal
 * opens (sync requests wait for that comparison), and again in the
 * background while it stays open, {@link RESCAN_INTERVAL_MS} after the last
 * comparison ended, so that what changed behind the server's back is found
 * without every session reading the whole tree. A comparison's cost grows
 * with the tree: the next one waits at least {@link RESCAN_COST_FACTOR} times
 * as long as the last took, which bounds the time spent comparing.
 *
 * The journal is the change feed's subscriber that writes every change
 * down, under the commit lock the change was made in.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { type Storage, StorageError } from "../storage/storage.ts";
import type { Journal } from "../storage/journal.ts";
import { serverLog } from "../log/logging.ts";
import type { FeedSubscriber, TreeChange } from "./change_feed.ts";
import { CommitLock } from "./commit_lock.ts";
import { DEFAULT_SERVER_CONFIG } from "./server_config.ts";

/**
 * How long a user's journal stays open after their last session: a sync
 * run again soon (by hand, by a timer, from another machine) then finds it
 * open, with its index read and its pages cached, instead of opening it
 * afresh.
 */
export const JOURNAL_LINGER_MS = 5 * 60_000;

/** How long after a comparison of the whole tree ended the next begins, while the journal is open. */
export const RESCAN_INTERVAL_MS = DEFAULT_SERVER_CONFIG.rescanIntervalMs;

/** The next comparison waits at least this many times as long as the last one took. */
export const RESCAN_COST_FACTOR = 10;

/** What a user's sessions share. */
export interface UserJournal {
  readonly user: string;
  /** Held while a change is checked, made and recorded. */
  readonly lock: CommitLock;
  /** The journal, opened on first use; rejects (IO_ERROR) if it cannot be opened. */
  journal(): Promise<Journal>;
  /** Resolves once the journal is open and the comparison begun when it opened has ended. */
  ready(): Promise<void>;
}

/** Compares the user's tree with the journal's index (see tree_index.ts). */
export type OpeningScan = (
  shared: UserJournal,
  storage: Storage,
  signal: AbortSignal,
) => Promise<void>;

/** One user's entry: its sessions, and the journal once asked for. */
class Entry implements UserJournal {
  readonly lock = new CommitLock();
  sessions = 0;
  /** Closes the journal of a user without sessions, once it has lingered. */
  lingering: ReturnType<typeof setTimeout> | undefined;
  #opened: Promise<Journal> | undefined;
  /** The comparison begun when the journal opened. */
  #opening: Promise<void> = Promise.resolve();
  /** The last comparison queued: each runs after the one before. */
  #scanned: Promise<void> = Promise.resolve();
  /** Starts the next comparison in the background. */
  #rescan: ReturnType<typeof setTimeout> | undefined;
  readonly #scan = new AbortController();

  constructor(
    readonly user: string,
    readonly storage: Storage,
    readonly scan: OpeningScan,
    readonly rescanMs: number,
  ) {}

  journal(): Promise<Journal> {
    this.#opened ??= this.#open();
    return this.#opened;
  }

  async ready(): Promise<void> {
    await this.journal();
    await this.#opening;
  }

  async #open(): Promise<Journal> {
    try {
      const journal = await this.storage.openJournal();
      this.#opening = this.#compare();
      return journal;
    } catch (error) {
      this.#opened = undefined; // The next request tries again.
      serverLog.error(
        "{user}'s change journal cannot be opened: {error}; sync requests fail until it can (one moved away starts afresh)",
        { user: this.user, error: error instanceof Error ? error.message : String(error) },
      );
      throw new StorageError(
        STATUS.IO_ERROR,
        "the change journal is unavailable (see the server log)",
      );
    }
  }

  /** Compares the whole tree with the index after what is under way, then plans the next. */
  #compare(): Promise<void> {
    this.#scanned = this.#scanned.then(async () => {
      const began = performance.now();
      try {
        await this.scan(this, this.storage, this.#scan.signal);
      } catch (error) {
        if (this.#scan.signal.aborted) return;
        serverLog.warn("comparing {user}'s files with the change journal failed: {error}", {
          user: this.user,
          error: String(error),
        });
      }
      this.#planRescan(performance.now() - began);
    });
    return this.#scanned;
  }

  /** Starts a comparison in the background once `tookMs` (the last one's time) allows. */
  #planRescan(tookMs: number): void {
    if (this.#scan.signal.aborted || !Number.isFinite(this.rescanMs)) return;
    this.#rescan = setTimeout(
      () => this.#compare(),
      Math.max(this.rescanMs, RESCAN_COST_FACTOR * tookMs),
    );
    Deno.unrefTimer(this.#rescan);
  }

  /** Stops the scans and closes the journal, if it was opened. */
  async close(): Promise<void> {
    if (this.#opened === undefined) return;
    this.#scan.abort();
    clearTimeout(this.#rescan);
    const journal = await this.#opened.catch(() => null);
    await this.#scanned;
    await journal?.close();
  }
}

/** The journals of every user with a session. */
export class UserJournals {
  #entries = new Map<string, Entry>();
  /** Journals still closing, by user: a new session waits for them before opening again. */
  #closing = new Map<string, Promise<void>>();
  readonly #scan: OpeningScan;
  readonly #lingerMs: number;
  readonly #rescanMs: number;

  /**
   * `lingerMs`: how long a journal stays open after its user's last session
   * (default {@link JOURNAL_LINGER_MS}); `rescanMs`: the pause between two
   * comparisons of an open journal's tree (default {@link RESCAN_INTERVAL_MS};
   * Infinity for none after the first).
   */
  constructor(scan: OpeningScan, lingerMs = JOURNAL_LINGER_MS, rescanMs = RESCAN_INTERVAL_MS) {
    this.#scan = scan;
    this.#lingerMs = lingerMs;
    this.#rescanMs = rescanMs;
  }

  /** Registers a session of `user`, whose files `storage` holds; release it when it ends. */
  async acquire(user: string, storage: Storage): Promise<UserJournal> {
    await this.#closing.get(user);
    let entry = this.#entries.get(user);
    if (entry === undefined) {
      entry = new Entry(user, storage, this.#scan, this.#rescanMs);
      this.#entries.set(user, entry);
    }
    clearTimeout(entry.lingering);
    entry.lingering = undefined;
    entry.sessions++;
    return entry;
  }

  /** Ends a session of `user`; after the last one the journal lingers, then closes. */
  async release(user: string): Promise<void> {
    const entry = this.#entries.get(user);
    if (entry === undefined || --entry.sessions > 0) return;
    if (this.#lingerMs > 0) {
      entry.lingering = setTimeout(() => this.#expire(entry), this.#lingerMs);
      Deno.unrefTimer(entry.lingering);
      return;
    }
    this.#entries.delete(user);
    await this.#close(entry);
  }

  /** Closes every journal (at shutdown, once sessions have ended). */
  async closeAll(): Promise<void> {
    const entries = [...this.#entries.values()];
    for (const entry of entries) clearTimeout(entry.lingering);
    this.#entries.clear();
    await Promise.all(entries.map((entry) => this.#close(entry)));
    await Promise.all(this.#closing.values());
  }

  /** What the sessions of `user` share, if any is open. */
  get(user: string): UserJournal | undefined {
    return this.#entries.get(user);
  }

  /** Writes each change into its user's journal. */
  readonly subscriber: FeedSubscriber = {
    change: async (change: TreeChange) => {
      const entry = this.#entries.get(change.user);
      if (entry === undefined) return;
      await record(await entry.journal(), change);
    },
  };

  #expire(entry: Entry): void {
    if (entry.sessions > 0 || this.#entries.get(entry.user) !== entry) return;
    this.#entries.delete(entry.user);
    this.#close(entry);
  }

  async #close(entry: Entry): Promise<void> {
    const closed = entry.close().catch((error) => {
      serverLog.warn("{user}'s change journal did not close cleanly: {error}", {
        user: entry.user,
        error: String(error),
      });
    }).finally(() => this.#closing.delete(entry.user));
    this.#closing.set(entry.user, closed);
    await closed;
  }
}

/** Writes `change` into `journal`. */
async function record(journal: Journal, change: TreeChange): Promise<void> {
  if (change.op === "delete") {
    await journal.delete(change.path);
  } else if (change.op === "rename") {
    await journal.rename(change.from!, change.path);
  } else if (change.entry !== undefined) {
    await journal.put(change.path, change.entry);
  }
}
