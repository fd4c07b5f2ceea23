/**
 * A user's change journal: every create, update, rename and delete of their
 * files, numbered by a sequence that only grows, and an index of what each
 * path holds now (kind, size, mtime, SHA-256, and the sequence of its last
 * change). Sync asks "what changed since sequence N" and gets only that; the
 * hash the server computed while receiving a file is kept, so listings can
 * carry it without reading the file again.
 *
 * Kept in SQLite beside the user's data. A journal has a random id: a client
 * whose cursor names another id (the journal was lost and rebuilt), or one
 * older than the changes still kept, must list the whole tree once instead.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";

/** What a journal entry did. */
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

/** An answer to {@link ChangeJournal.since}. */
export type ChangesSince =
  | { kind: "changes"; changes: JournalChange[]; sequence: number; more: boolean }
  /** The cursor is from another journal, or older than what is kept: list the tree instead. */
  | { kind: "expired"; sequence: number };

/** Options of {@link ChangeJournal.open}. */
export interface ChangeJournalOptions {
  /** Changes kept for clients that ask; older ones are dropped. Default 100,000. */
  retain?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS entries (
    path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL,
    sha256 TEXT, version INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS changes (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL, path TEXT NOT NULL,
    from_path TEXT, kind TEXT, size INTEGER, mtime_ms INTEGER, sha256 TEXT
  );
`;

/** The journal and index of one user's files. */
export class ChangeJournal {
  /** Random, fixed for the life of this journal's file. */
  readonly id: string;
  readonly #db: DatabaseSync;
  readonly #retain: number;
  readonly #statements: Record<string, StatementSync>;

  private constructor(db: DatabaseSync, options: ChangeJournalOptions) {
    this.#db = db;
    this.#retain = options.retain ?? 100_000;
    this.#statements = prepare(db);
    const stored = db.prepare("SELECT value FROM meta WHERE key = 'id'").get() as
      | { value: string }
      | undefined;
    this.id = stored?.value ?? crypto.randomUUID();
    if (stored === undefined) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('id', ?)").run(this.id);
    }
  }

  /** Opens the journal in the file `path`, creating it if missing. */
  static open(path: string, options: ChangeJournalOptions = {}): ChangeJournal {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    return new ChangeJournal(db, options);
  }

  /** The sequence of the last change (0 for none). */
  get sequence(): number {
    const row = this.#statements.last.get() as { sequence: number | null };
    return row.sequence ?? 0;
  }

  /** What the journal knows of `path`. */
  lookup(path: string): IndexedEntry | undefined {
    const row = this.#statements.lookup.get(path) as Row | undefined;
    return row === undefined ? undefined : entryOf(row);
  }

  /** `path` now holds `entry` (a file written, a folder made, or found changed). */
  put(path: string, entry: IndexedEntry): JournalChange {
    return this.#transaction(() => {
      const op = entry.kind === "directory" ? "mkdir" : "put";
      const change = this.#append({ op, path, ...entry });
      this.#statements.upsert.run(
        path,
        entry.kind,
        entry.size,
        entry.mtimeMs,
        entry.sha256 ?? null,
        change.sequence,
      );
      return change;
    });
  }

  /** `path` and, for a folder, everything in it are gone. */
  delete(path: string): JournalChange {
    return this.#transaction(() => {
      const change = this.#append({ op: "delete", path });
      this.#statements.remove.run(path, `${path}/`, `${path}0`);
      return change;
    });
  }

  /** `from` (and, for a folder, everything in it) is now at `to`; what was at `to` is replaced. */
  rename(from: string, to: string): JournalChange {
    return this.#transaction(() => {
      const change = this.#append({ op: "rename", path: to, from });
      this.#statements.remove.run(to, `${to}/`, `${to}0`);
      this.#statements.move.run(to, from.length + 1, change.sequence, from, `${from}/`, `${from}0`);
      return change;
    });
  }

  /** Changes after `sequence`, at most `limit`, if this journal (`journalId`) still has them. */
  since(journalId: string, sequence: number, limit: number): ChangesSince {
    const current = this.sequence;
    const oldest = this.#statements.first.get() as { sequence: number | null };
    const firstKept = oldest.sequence ?? current + 1;
    if (journalId !== this.id || sequence > current || sequence + 1 < firstKept) {
      return { kind: "expired", sequence: current };
    }
    const rows = this.#statements.since.all(sequence, limit + 1) as unknown as ChangeRow[];
    const changes = rows.slice(0, limit).map(changeOf);
    const last = changes.at(-1)?.sequence ?? sequence;
    return { kind: "changes", changes, sequence: last, more: rows.length > limit };
  }

  /** Every indexed entry at or below `path` ("/" for all), in path order. */
  *entries(path: string): Generator<[string, IndexedEntry]> {
    const rows = path === "/"
      ? this.#statements.all.iterate()
      : this.#statements.under.iterate(path, `${path}/`, `${path}0`);
    for (const row of rows as Iterable<Row>) yield [row.path, entryOf(row)];
  }

  close(): void {
    this.#db.close();
  }

  #append(change: Omit<JournalChange, "sequence">): JournalChange {
    const result = this.#statements.append.run(
      change.op,
      change.path,
      change.from ?? null,
      change.kind ?? null,
      change.size ?? null,
      change.mtimeMs ?? null,
      change.sha256 ?? null,
    );
    const sequence = Number(result.lastInsertRowid);
    if (sequence % 1024 === 0) this.#statements.prune.run(sequence - this.#retain);
    return { sequence, ...change };
  }

  #transaction<T>(work: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

interface Row {
  path: string;
  kind: "file" | "directory";
  size: number;
  mtime_ms: number;
  sha256: string | null;
}

interface ChangeRow extends Partial<Row> {
  sequence: number;
  op: JournalOp;
  path: string;
  from_path: string | null;
}

function entryOf(row: Row): IndexedEntry {
  const entry: IndexedEntry = { kind: row.kind, size: row.size, mtimeMs: row.mtime_ms };
  if (row.sha256 !== null) entry.sha256 = row.sha256;
  return entry;
}

function changeOf(row: ChangeRow): JournalChange {
  const change: JournalChange = { sequence: row.sequence, op: row.op, path: row.path };
  if (row.from_path !== null) change.from = row.from_path;
  if (row.kind) Object.assign(change, entryOf(row as Row));
  return change;
}

/** The statements the journal runs; `[path/, path0)` is everything inside `path` ('0' follows '/'). */
function prepare(db: DatabaseSync): Record<string, StatementSync> {
  return {
    last: db.prepare("SELECT max(sequence) AS sequence FROM changes"),
    first: db.prepare("SELECT min(sequence) AS sequence FROM changes"),
    lookup: db.prepare("SELECT * FROM entries WHERE path = ?"),
    upsert: db.prepare(
      "INSERT OR REPLACE INTO entries (path, kind, size, mtime_ms, sha256, version) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    remove: db.prepare("DELETE FROM entries WHERE path = ? OR (path >= ? AND path < ?)"),
    move: db.prepare(
      `UPDATE entries SET path = ?1 || substr(path, ?2), version = ?3
       WHERE path = ?4 OR (path >= ?5 AND path < ?6)`,
    ),
    append: db.prepare(
      "INSERT INTO changes (op, path, from_path, kind, size, mtime_ms, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    prune: db.prepare("DELETE FROM changes WHERE sequence <= ?"),
    since: db.prepare("SELECT * FROM changes WHERE sequence > ? ORDER BY sequence LIMIT ?"),
    all: db.prepare("SELECT * FROM entries ORDER BY path"),
    under: db.prepare(
      "SELECT * FROM entries WHERE path = ? OR (path >= ? AND path < ?) ORDER BY path",
    ),
  };
}
