/**
 * The "journal moved" signal between nodes: every change a node records in a
 * user's journal sends a NOTIFY on {@link JOURNAL_CHANNEL} with the user's
 * name (in the recording transaction, so it arrives only once the change is
 * committed and visible). Each node listens once, on a connection of its own,
 * and hands the signal to the subscribers of that user, such as the sessions
 * of `sync --watch` clients, which then ask the journal what changed.
 *
 * A signal says only "something changed": a subscriber that missed some
 * (the database was away) loses nothing, since it reads the journal from its
 * own cursor.
 *
 * @module
 */

import type { Database } from "./database.ts";

/** The channel of the signal; its payload is the user's name. */
export const JOURNAL_CHANNEL = "dfos_journal_moved";

/** Stops one subscription. */
export type Unsubscribe = () => Promise<void>;

/** One node's listener for the signal, shared by every subscriber on the node. */
export class JournalSignal {
  readonly #database: Database;
  readonly #subscribers = new Map<string, Set<() => void>>();
  #listening: Promise<{ unlisten(): Promise<void> }> | undefined;

  constructor(database: Database) {
    this.#database = database;
  }

  /**
   * Calls `onMoved` whenever `user`'s journal moves, on any node, until
   * unsubscribed. Resolves once the node listens: changes committed after
   * that are signalled.
   */
  async subscribe(user: string, onMoved: () => void): Promise<Unsubscribe> {
    const callbacks = this.#subscribers.get(user) ?? new Set();
    this.#subscribers.set(user, callbacks);
    const callback = () => onMoved();
    callbacks.add(callback);
    try {
      this.#listening ??= this.#database.listen(JOURNAL_CHANNEL, (name) => this.#deliver(name));
      await this.#listening;
    } catch (error) {
      this.#listening = undefined;
      await this.#remove(user, callback);
      throw error;
    }
    return () => this.#remove(user, callback);
  }

  #deliver(user: string): void {
    for (const callback of this.#subscribers.get(user) ?? []) {
      try {
        callback();
      } catch { /* one subscriber's failure is its own */ }
    }
  }

  /** Forgets a callback; the last one gone stops listening. */
  async #remove(user: string, callback: () => void): Promise<void> {
    const callbacks = this.#subscribers.get(user);
    callbacks?.delete(callback);
    if (callbacks?.size === 0) this.#subscribers.delete(user);
    if (this.#subscribers.size > 0 || this.#listening === undefined) return;
    const listening = this.#listening;
    this.#listening = undefined;
    await (await listening.catch(() => undefined))?.unlisten();
  }
}
