/**
 * Following a user's journal that other nodes write too: on each "journal
 * moved" signal the follower reads the changes after its cursor and hands on
 * those this node did not make, so that the watchers tell its sessions of
 * another node's changes as they do of their own.
 *
 * This node's own changes reach the journal (and signal it) too, and its
 * watchers were told of them by the change feed already. So the follower
 * keeps a note of each change the feed published here, for
 * {@link LOCAL_NOTE_MS}, and takes a change of the journal matching a note
 * (same path, same old path) as this node's. A change read before its note
 * was made (the signal outran the feed, which notes it first thing) is
 * handed on all the same: a `Changed` more than needed, never one missing.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import type { Journal, JournalPosition } from "../storage/journal.ts";

/** Stops one subscription to a journal's moves. */
export type StopFollowing = () => Promise<void>;

/** A journal that other nodes write too, and that says when it moved. */
export interface SharedJournal extends Journal {
  /**
   * Calls `onMoved` whenever the journal moves, through any node, until the
   * returned function is called. Resolves once changes committed from then on
   * are signalled.
   */
  onMoved(onMoved: () => void): Promise<StopFollowing>;
}

/** Whether `journal` is written by other nodes too and signals its moves. */
export function isSharedJournal(journal: Journal): journal is SharedJournal {
  return typeof (journal as Partial<SharedJournal>).onMoved === "function";
}

/** How long a change published here is remembered as this node's own, ms. */
export const LOCAL_NOTE_MS = 5_000;

/** Most notes kept; the oldest go first. */
const LOCAL_NOTE_LIMIT = 1024;

/** Changes read from the journal per query. */
const PULL_LIMIT = 1000;

/** Where a change was: its path and, for a rename, its old path. */
export interface MovedPaths {
  path: string;
  from?: string;
}

/** Told of each change another node made; `undefined`: the cursor expired, anything may have. */
export type ForeignChange = (change: MovedPaths | undefined) => void;

/** Options of {@link JournalFollower.start}. */
export interface JournalFollowerOptions {
  /** The clock, ms. Default `performance.now`. */
  now?: () => number;
}

/** One user's shared journal, followed while the user has watching sessions on this node. */
export class JournalFollower {
  readonly #journal: SharedJournal;
  readonly #tell: ForeignChange;
  readonly #now: () => number;
  /** Note key → when each note of it expires, oldest first. */
  readonly #notes = new Map<string, number[]>();
  #cursor: JournalPosition | undefined;
  #stop: StopFollowing | undefined;
  #pulling = false;
  #again = false;
  #stopped = false;

  private constructor(journal: SharedJournal, tell: ForeignChange, now: () => number) {
    this.#journal = journal;
    this.#tell = tell;
    this.#now = now;
  }

  /** Follows `journal` from where it stands now, telling `tell` of others' changes. */
  static async start(
    journal: SharedJournal,
    tell: ForeignChange,
    options: JournalFollowerOptions = {},
  ): Promise<JournalFollower> {
    const follower = new JournalFollower(journal, tell, options.now ?? (() => performance.now()));
    // Listening first, then the cursor: a change committed in between is read on its signal.
    follower.#stop = await journal.onMoved(() => void follower.#moved());
    follower.#cursor = { journalId: journal.id, sequence: await journal.sequence() };
    return follower;
  }

  /** Notes a change this node made (published by its feed): the journal's copy is not told again. */
  note(change: MovedPaths): void {
    const key = noteKey(change);
    const expiries = this.#notes.get(key) ?? [];
    expiries.push(this.#now() + LOCAL_NOTE_MS);
    this.#notes.delete(key); // Re-inserted last: the map stays in the order notes were made.
    this.#notes.set(key, expiries);
    if (this.#notes.size > LOCAL_NOTE_LIMIT) this.#notes.delete(this.#notes.keys().next().value!);
  }

  /** Stops following; signals after this are ignored. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#stop?.();
  }

  /** One reader at a time; a signal during a read makes it read once more. */
  async #moved(): Promise<void> {
    if (this.#cursor === undefined || this.#stopped) return;
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    try {
      do {
        this.#again = false;
        await this.#pull(this.#cursor);
      } while (this.#again && !this.#stopped);
    } catch (error) {
      serverLog.warn("reading the changes other nodes made to a journal failed: {error}", {
        error: String(error),
      });
    } finally {
      this.#pulling = false;
    }
  }

  /** Reads every change after `cursor` (moving it), handing on those not noted. */
  async #pull(cursor: JournalPosition): Promise<void> {
    for (let more = true; more && !this.#stopped;) {
      const since = await this.#journal.since(cursor.journalId, cursor.sequence, {
        limit: PULL_LIMIT,
      });
      if (since.kind === "expired") {
        this.#cursor = { journalId: this.#journal.id, sequence: since.sequence };
        this.#tell(undefined);
        return;
      }
      for (const change of since.changes) {
        if (!this.#take(change)) this.#tell({ path: change.path, from: change.from });
      }
      cursor.sequence = since.sequence;
      more = since.more;
    }
  }

  /** Takes an unexpired note of `change`: true if this node made it. */
  #take(change: MovedPaths): boolean {
    const key = noteKey(change);
    const now = this.#now();
    const expiries = (this.#notes.get(key) ?? []).filter((expiry) => expiry > now);
    const found = expiries.shift() !== undefined;
    if (expiries.length > 0) this.#notes.set(key, expiries);
    else this.#notes.delete(key);
    return found;
  }
}

function noteKey(change: MovedPaths): string {
  return `${change.path}\0${change.from ?? ""}`;
}
