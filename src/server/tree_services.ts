/**
 * The change feed and everything that hangs on it, wired once per server:
 * the users' journals (which write every change down), the watchers (which
 * tell watching sessions, of other nodes' changes too where the journal is
 * shared), and the audit trail. Each session gets from here
 * its storage (the backend's, observed) and its view of the index.
 *
 * @module
 */

import type { Storage } from "../storage/storage.ts";
import type { JournalPosition } from "../storage/journal.ts";
import { serverLog } from "../log/logging.ts";
import { auditTrail } from "./audit_trail.ts";
import { ChangeFeed } from "./change_feed.ts";
import { ObservedStorage } from "./observed_storage.ts";
import { TreeIndex } from "./tree_index.ts";
import { UserJournals } from "./user_journals.ts";
import { Watchers } from "./watchers.ts";

/** What one session uses of the tree services; `release` when the session ends. */
export interface SessionTree {
  storage: ObservedStorage;
  index: TreeIndex;
  release(): Promise<void>;
}

/** Options of {@link TreeServices}: defaults JOURNAL_LINGER_MS and RESCAN_INTERVAL_MS. */
export interface TreeServicesOptions {
  /** How long a journal stays open after its user's last session. */
  lingerMs?: number;
  /** The pause between two comparisons of an open journal's tree with its index. */
  rescanMs?: number;
}

/** The feed, the journals, the watchers and the audit trail of one server. */
export class TreeServices {
  readonly feed = new ChangeFeed();
  readonly journals: UserJournals;
  readonly watchers: Watchers;

  /** `options`: when journals close and their trees are compared again (user_journals.ts). */
  constructor(options: TreeServicesOptions = {}) {
    this.journals = new UserJournals(
      async (shared, storage, signal) => {
        const found = await new TreeIndex(storage, shared, this.feed).compareTree("/", { signal });
        if (found === 0) return;
        serverLog.info(
          "found {count} change(s) made behind the server's back in {user}'s files",
          { count: found, user: shared.user },
        );
      },
      options.lingerMs,
      options.rescanMs,
    );
    this.watchers = new Watchers((user) => this.#position(user), {
      journalOf: async (user) => await this.journals.get(user)?.journal(),
    });
    this.feed.subscribe(this.watchers.localChanges);
    this.feed.subscribe(this.journals.subscriber);
    this.feed.subscribe(this.watchers.subscriber);

    this.feed.subscribe(auditTrail);
  }

  /** A session of `user` on `backend` (the user's files). */
  async openSession(user: string, sessionId: string, backend: Storage): Promise<SessionTree> {
    const shared = await this.journals.acquire(user, backend);
    const index = new TreeIndex(backend, shared, this.feed);
    const storage = new ObservedStorage(backend, { index, feed: this.feed, user, sessionId });
    return { storage, index, release: () => this.journals.release(user) };
  }

  /** Closes every journal still open (at shutdown). */
  closeAll(): Promise<void> {
    return this.journals.closeAll();
  }

  async #position(user: string): Promise<JournalPosition | null> {
    const journal = await this.journals.get(user)?.journal();
    if (journal === undefined) return null;
    return { journalId: journal.id, sequence: await journal.sequence() };
  }
}
