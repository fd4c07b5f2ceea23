/**
 * The contract of a user's change journal: every create, update, rename and
 * delete of their files, numbered by a sequence that only grows, and an
 * index of what each path holds now. Sync asks "what changed since sequence
 * N" and gets only that; the index keeps the SHA-256 the server computed
 * while receiving a file, so listings carry it without reading the file again.
 *
 * A backend keeps it beside the user's data (the local filesystem in SQLite,
 * see change_journal.ts; an object store in its database). Methods are
 * asynchronous so that any backend can implement them; the server calls the
 * mutating ones under its per-user commit lock, so they need not be atomic
 * with the storage operation they record.
 *
 * A journal has an id. A client whose cursor names another id (the journal
 * was rebuilt), or one older than the changes still kept, must list the
 * whole tree once instead.
 *
 * @module
 */

/** What a journal entry did: a file or a folder is now at `path`, or `path` went, or moved. */
export type JournalOp = "put" | "mkdir" | "delete" | "rename";

/** A path's state as the journal knows it. */
export interface IndexedEntry {
  kind: "file" | "directory";
  size: number;
  mtimeMs: number;
  /** Lowercase hex; absent where the content changed behind the server's back and is not hashed yet. */
  sha256?: string;
}

/** One change. Paths are absolute within the user's folder (`/docs/a.txt`). */
export interface JournalChange extends Partial<IndexedEntry> {
  sequence: number;
  op: JournalOp;
  path: string;
  /** The old path of a rename. */
  from?: string;
}

/** An answer to {@link Journal.since}. */
export type ChangesSince =
  | {
    kind: "changes";
    changes: JournalChange[];
    /** Where to ask from next time: the last change returned, or the journal's end. */
    sequence: number;
    /** More changes follow `sequence`: ask again. */
    more: boolean;
  }
  /** The cursor is from another journal, or older than what is kept: list the tree instead. */
  | { kind: "expired"; sequence: number };

/** Options of {@link Journal.since}. */
export interface SinceOptions {
  /** Most changes returned. */
  limit: number;
  /**
   * Only changes that concern this folder: at or inside it (either path of a
   * rename), or of one of its parents (its deletion, say). Default "/": all.
   */
  under?: string;
}

/** Where a journal stands: its id and the sequence of its last change. */
export interface JournalPosition {
  journalId: string;
  sequence: number;
}

/** A user's change journal and content index, whatever keeps it. */
export interface Journal {
  /** Fixed for the life of the journal: a new id tells clients that old cursors mean nothing. */
  readonly id: string;
  /** The sequence of the last change (0 for none). */
  sequence(): Promise<number>;
  /** What the index holds for `path`. */
  lookup(path: string): Promise<IndexedEntry | undefined>;
  /**
   * Index entries inside `under` ("/" for all; `under` itself excluded),
   * after `after` (excluded; null to start) in the order of their paths'
   * UTF-8 bytes, at most `limit`.
   */
  entriesAfter(
    under: string,
    after: string | null,
    limit: number,
  ): Promise<[string, IndexedEntry][]>;
  /** `path` now holds `entry`; a file replaces whatever the index had inside `path`. */
  put(path: string, entry: IndexedEntry): Promise<JournalChange>;
  /** `path` and, for a folder, everything in it are gone. */
  delete(path: string): Promise<JournalChange>;
  /** `from` (and, for a folder, everything in it) is now at `to`; what was at `to` is replaced. */
  rename(from: string, to: string): Promise<JournalChange>;
  /**
   * Remembers the SHA-256 of the file at `path` if the index still holds it
   * with `entry`'s size and mtime (in the index and in the change that put
   * it there); false if it has moved on. Records no change.
   */
  rememberHash(path: string, entry: IndexedEntry & { sha256: string }): Promise<boolean>;
  /** Changes after `sequence` if this journal (`journalId`) still has them. */
  since(journalId: string, sequence: number, options: SinceOptions): Promise<ChangesSince>;
  /** Closes it; later calls fail. */
  close(): Promise<void>;
}

/** Where a journal stands, for {@link expiredCursor}: its id, last sequence and oldest kept. */
export interface JournalSpan {
  id: string;
  /** The last sequence handed out. */
  current: number;
  /** The oldest change still kept (`current + 1` when none is). */
  firstKept: number;
}

/**
 * The "expired" answer to {@link Journal.since} if the cursor (`journalId`,
 * `sequence`) is from another journal, ahead of it, or older than what it
 * keeps; undefined if its changes can be given.
 */
export function expiredCursor(
  journalId: string,
  sequence: number,
  span: JournalSpan,
): ChangesSince | undefined {
  const { id, current, firstKept } = span;
  if (journalId !== id || sequence > current || sequence + 1 < firstKept) {
    return { kind: "expired", sequence: current };
  }
  return undefined;
}

/**
 * One page of {@link Journal.since}: `rows` are the matching changes after
 * the cursor, up to `limit + 1` of them (one more says more follow); the
 * journal's last sequence is `current`.
 */
export function changesPage(
  rows: JournalChange[],
  limit: number,
  current: number,
): ChangesSince {
  const changes = rows.slice(0, limit);
  const more = rows.length > limit;
  // Without more to come, everything up to the end was looked at, matching or not.
  return { kind: "changes", changes, sequence: more ? changes.at(-1)!.sequence : current, more };
}
