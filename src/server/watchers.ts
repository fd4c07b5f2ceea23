/**
 * Sessions watching a folder for changes (`Changes` with `watch`, PROTOCOL.md
 * §5.9): when another session of the same user, or a change found on disk,
 * touches the folder, the watching session is sent a `Changed` frame (id 0)
 * saying where the journal now stands, at most one every 100 ms, so a burst
 * of changes costs one pull. A change a session made itself is not
 * reported to it.
 *
 * @module
 */

import { encode, Messages } from "../protocol/messages.ts";
import type { JournalPosition } from "../storage/journal.ts";
import type { FeedSubscriber, TreeChange } from "./change_feed.ts";

/** Least time between two notifications to one session, ms. */
export const NOTIFY_INTERVAL_MS = 100;

/** Where a user's journal stands now; null if it is not open. */
export type PositionOf = (user: string) => Promise<JournalPosition | null>;

/** One session's watch. */
interface Watch {
  user: string;
  sessionId: string;
  folder: string;
  send(frame: Uint8Array): Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
  lastSentMs: number;
}

/** Options of {@link Watchers}. */
export interface WatchersOptions {
  /** Least time between two notifications to one session, ms. Default {@link NOTIFY_INTERVAL_MS}. */
  intervalMs?: number;
  /** The clock, ms. Default `performance.now`. */
  now?: () => number;
}

/** Every watching session of the server. */
export class Watchers {
  /** By session (any object standing for it): one watch each. */
  #watches = new Map<object, Watch>();
  readonly #position: PositionOf;
  readonly #intervalMs: number;
  readonly #now: () => number;

  constructor(position: PositionOf, options: WatchersOptions = {}) {
    this.#position = position;
    this.#intervalMs = options.intervalMs ?? NOTIFY_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Makes `session` watch `folder` (canonical), replacing what it watched before. */
  watch(
    session: object,
    target: Pick<Watch, "user" | "sessionId" | "folder" | "send">,
  ): void {
    const earlier = this.#watches.get(session);
    this.#watches.set(session, {
      ...target,
      timer: earlier?.timer,
      lastSentMs: earlier?.lastSentMs ?? -Infinity,
    });
  }

  /** Ends the watch of `session`, if any. */
  unwatch(session: object): void {
    clearTimeout(this.#watches.get(session)?.timer);
    this.#watches.delete(session);
  }

  /** Schedules a notification for every watch the change concerns. */
  readonly subscriber: FeedSubscriber = {
    change: (change: TreeChange) => {
      for (const [session, watch] of this.#watches) {
        if (watch.user !== change.user || watch.sessionId === change.sessionId) continue;
        if (concerns(watch.folder, change)) this.#schedule(session, watch);
      }
    },
  };

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
export function concerns(folder: string, change: TreeChange): boolean {
  if (folder === "/") return true;
  return [change.path, change.from].some((path) =>
    path !== undefined &&
    (path === folder || path.startsWith(`${folder}/`) || folder.startsWith(`${path}/`))
  );
}
