/**
 * Each user's change journal, open once for the whole server process and
 * shared by that user's sessions, with the user's commit lock. A journal
 * opens when a session first needs it (a change to record, a sync request)
 * and closes {@link JOURNAL_LINGER_MS} after the user's last session ends,
 * or at shutdown. The tree is compared with its index in the background
 * when the journal opens, and again for each later session's first sync
 * request, so that what changed behind the server's back meanwhile is found.
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

/**
 * How long a user's journal stays open after their last session: a sync
 * run again soon (by hand, by a timer, from another machine) then finds it
 * open, with its index read and its pages cached, instead of opening it
 * afresh.
 */
export const JOURNAL_LINGER_MS = 5 * 60_000;

/** What a user's sessions share. */
export interface UserJournal {
  readonly user: string;
  /** Held while a change is checked, made and recorded. */
  readonly lock: CommitLock;
  /** The journal, opened on first use; rejects (IO_ERROR) if it cannot be opened. */
  journal(): Promise<Journal>;
  /**
   * Resolves once a comparison of the tree with the index that began
   * after `sessionStartMs` (the asking session's start) has ended.
   */
  ready(sessionStartMs: number): Promise<void>;
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
  #scanned: Promise<void> = Promise.resolve();
  /** When the last full comparison was queued. */
  #lastFullMs = -Infinity;
  readonly #scan = new AbortController();

  constructor(
    readonly user: string,
    readonly storage: Storage,
    readonly scan: OpeningScan,
  ) {}

  journal(): Promise<Journal> {
    this.#opened ??= this.#open();
    return this.#opened;
  }

  async ready(sessionStartMs: number): Promise<void> {
    await this.journal();
    // After any comparison under way: one that began after the session did is enough.
    if (this.#lastFullMs < sessionStartMs) this.#compare();
    await this.#scanned;
  }

  async #open(): Promise<Journal> {
    try {
      const journal = await this.storage.openJournal();
      this.#compare();
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

  /** Compares the whole tree with the index after what is under way; {@link ready} waits for it. */
  #compare(): void {
    this.#lastFullMs = performance.now();
    this.#scanned = this.#scanned.then(() => this.scan(this, this.storage, this.#scan.signal))
      .catch((error) => {
        if (this.#scan.signal.aborted) return;
        serverLog.warn("comparing {user}'s files with the change journal failed: {error}", {
          user: this.user,
          error: String(error),
        });
      });
  }

  /** Stops the scan and closes the journal, if it was opened. */
  async close(): Promise<void> {
    if (this.#opened === undefined) return;
    this.#scan.abort();
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

  /** `lingerMs`: how long a journal stays open after its user's last session (default {@link JOURNAL_LINGER_MS}). */
  constructor(scan: OpeningScan, lingerMs = JOURNAL_LINGER_MS) {
    this.#scan = scan;
    this.#lingerMs = lingerMs;
  }

  /** Registers a session of `user`, whose files `storage` holds; release it when it ends. */
  async acquire(user: string, storage: Storage): Promise<UserJournal> {
    await this.#closing.get(user);
    let entry = this.#entries.get(user);
    if (entry === undefined) {
      entry = new Entry(user, storage, this.#scan);
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
