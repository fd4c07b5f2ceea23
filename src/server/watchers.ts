/**
 * Sessions watching a folder for changes (`Changes` with `watch`, PROTOCOL.md
 * §5.9): when another session of the same user, or a change found on disk,
 * touches the folder, the watching session is sent a `Changed` frame (id 0)
 * saying where the journal now stands, at most one every 100 ms, so a burst
 * of changes costs one pull. A change a session made itself is not
 * reported to it.
 *
 * A journal that other nodes write too (the object store's, in PostgreSQL)
 * says when it moved ({@link SharedJournal}): while a user has watching
 * sessions here, the node follows it (journal_follower.ts) and tells them of
 * the changes another node made as it does of its own.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { encode, Messages } from "../protocol/messages.ts";
import type { Journal, JournalPosition } from "../storage/journal.ts";
import type { FeedSubscriber, TreeChange } from "./change_feed.ts";
import { isSharedJournal, JournalFollower, type MovedPaths } from "./journal_follower.ts";

/** Least time between two notifications to one session, ms. */
export const NOTIFY_INTERVAL_MS = 100;

/** Where a user's journal stands now; null if it is not open. */
export type PositionOf = (user: string) => Promise<JournalPosition | null>;

/** A user's journal if it is open (it is, while a session of theirs watches). */
export type JournalOf = (user: string) => Promise<Journal | undefined>;

/** One session's watch. */
interface Watch {
  user: string;
  sessionId: string;
  folder: string;
  send(frame: Uint8Array): Promise<void>;
  /**
   * Where the journal stood in the answer that asked for the watch: what
   * the session knows of. A change after it that landed before the watch
   * (or this node's following of other nodes) began is told at once.
   */
  armedAt?: JournalPosition;
  timer?: ReturnType<typeof setTimeout>;
  lastSentMs: number;
}

/** The following of one user's journal: starting, then started (or not shared). */
interface Following {
  started: Promise<JournalFollower | undefined>;
  follower?: JournalFollower;
}

/** Options of {@link Watchers}. */
export interface WatchersOptions {
  /** Least time between two notifications to one session, ms. Default {@link NOTIFY_INTERVAL_MS}. */
  intervalMs?: number;
  /** The clock, ms. Default `performance.now`. */
  now?: () => number;
  /** Where to find a user's journal, to follow one that other nodes write too. Default: none. */
  journalOf?: JournalOf;
}

/** Every watching session of the server. */
export class Watchers {
  /** By session (any object standing for it): one watch each. */
  #watches = new Map<object, Watch>();
  readonly #position: PositionOf;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #journalOf: JournalOf | undefined;
  /** By user with a watch here: the follower of their journal, once started, if other nodes write it. */
  #followers = new Map<string, Following>();

  constructor(position: PositionOf, options: WatchersOptions = {}) {
    this.#position = position;
    this.#intervalMs = options.intervalMs ?? NOTIFY_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#journalOf = options.journalOf;
  }

  /** Makes `session` watch `folder` (canonical), replacing what it watched before. */
  watch(
    session: object,
    target: Pick<Watch, "user" | "sessionId" | "folder" | "send" | "armedAt">,
  ): void {
    const earlier = this.#watches.get(session);
    this.#watches.set(session, {
      ...target,
      timer: earlier?.timer,
      lastSentMs: earlier?.lastSentMs ?? -Infinity,
    });
    if (!this.#followers.has(target.user)) this.#follow(target.user);
    if (earlier !== undefined && earlier.user !== target.user) {
      this.#unfollowIfUnwatched(earlier.user);
    }
    void this.#tellIfMoved(session);
  }

  /** Ends the watch of `session`, if any. */
  unwatch(session: object): void {
    const watch = this.#watches.get(session);
    clearTimeout(watch?.timer);
    this.#watches.delete(session);
    if (watch !== undefined) this.#unfollowIfUnwatched(watch.user);
  }

  /**
   * Notes each change published here with the follower of its user's journal
   * (if any): subscribed before the journal writes it, so the note is there
   * before the journal's signal can be read.
   */
  readonly localChanges: FeedSubscriber = {
    change: (change: TreeChange) => {
      // One still starting notes nothing: a change missed so is told once more, never lost.
      this.#followers.get(change.user)?.follower?.note({ path: change.path, from: change.from });
    },
  };

  /** Schedules a notification for every watch the change concerns. */
  readonly subscriber: FeedSubscriber = {
    change: (change: TreeChange) => {
      for (const [session, watch] of this.#watches) {
        if (watch.user !== change.user || watch.sessionId === change.sessionId) continue;
        if (concerns(watch.folder, change)) this.#schedule(session, watch);
      }
    },
  };

  /** Follows `user`'s journal while they watch here, if other nodes write it too. */
  #follow(user: string): void {
    const following: Following = { started: Promise.resolve(undefined) };
    following.started = (async () => {
      const journal = await this.#journalOf?.(user);
      if (journal === undefined || !isSharedJournal(journal)) return undefined;
      following.follower = await JournalFollower.start(
        journal,
        (change) => this.#foreign(user, change),
      );
      // What other nodes changed before the follower listened is told by no signal.
      for (const [session, watch] of this.#watches) {
        if (watch.user === user) void this.#tellIfMoved(session);
      }
      return following.follower;
    })().catch((error) => {
      serverLog.warn(
        "{user}'s watching sessions do not hear of other nodes' changes until their next watch: {error}",
        { user, error: String(error) },
      );
      if (this.#followers.get(user) === following) this.#followers.delete(user); // The next tries again.
      return undefined;
    });
    this.#followers.set(user, following);
  }

  /** Stops following `user`'s journal once no session of theirs watches here. */
  #unfollowIfUnwatched(user: string): void {
    for (const watch of this.#watches.values()) if (watch.user === user) return;
    const follower = this.#followers.get(user);
    this.#followers.delete(user);
    follower?.started.then((started) => started?.stop()).catch(() => {});
  }

  /** Another node changed `change`'s paths (undefined: anything): every concerned watch hears. */
  #foreign(user: string, change: MovedPaths | undefined): void {
    for (const [session, watch] of this.#watches) {
      if (watch.user !== user) continue;
      if (change === undefined || concerns(watch.folder, change)) this.#schedule(session, watch);
    }
  }

  /**
   * Notifies `session` if its user's journal has, since where it stood when
   * the session asked to watch, a change the watched folder's changes
   * concern (or no longer holds that position): a change in between (made
   * while the answer was on its way, or by another node before this one
   * followed it) would otherwise be told by nothing. The session's own
   * changes count too: at worst the client looks once for nothing.
   */
  async #tellIfMoved(session: object): Promise<void> {
    const watch = this.#watches.get(session);
    if (watch?.armedAt === undefined) return;
    const moved = await this.#movedSince(watch, watch.armedAt).catch((error) => {
      serverLog.debug("a watch could not be checked against its journal: {error}", {
        error: String(error),
      });
      return false;
    });
    if (moved && this.#watches.get(session) === watch) this.#schedule(session, watch);
  }

  async #movedSince(watch: Watch, { journalId, sequence }: JournalPosition): Promise<boolean> {
    const journal = await this.#journalOf?.(watch.user);
    if (journal === undefined) {
      // Without the journal at hand, where it stands says whether anything moved at all.
      const now = await this.#position(watch.user);
      return now !== null && (now.journalId !== journalId || now.sequence > sequence);
    }
    const answer = await journal.since(journalId, sequence, { under: watch.folder, limit: 1 });
    return answer.kind === "expired" || answer.changes.length > 0;
  }

  #schedule(session: object, watch: Watch): void {
    if (watch.timer !== undefined) return; // One is coming: it will tell the latest position.
    const delay = Math.max(0, watch.lastSentMs + this.#intervalMs - this.#now());
    watch.timer = setTimeout(() => this.#notify(session), delay);
  }

  async #notify(session: object): Promise<void> {
    const watch = this.#watches.get(session);
    if (watch === undefined) return;
    watch.timer = undefined;
    watch.lastSentMs = this.#now();
    const position = await this.#position(watch.user).catch(() => null);
    if (position === null || this.#watches.get(session)?.folder !== watch.folder) return;
    await watch.send(encode(Messages.Changed, 0, position)).catch(() => {});
  }
}

/** Whether `change` touches `folder`: at or inside it (either path of a rename), or a parent of it. */
export function concerns(folder: string, change: Pick<TreeChange, "path" | "from">): boolean {
  if (folder === "/") return true;
  return [change.path, change.from].some((path) =>
    path !== undefined &&
    (path === folder || path.startsWith(`${folder}/`) || folder.startsWith(`${path}/`))
  );
}
