/**
 * A user's {@link Journal} in SQLite (`node:sqlite`): a table of changes
 * numbered by SQLite's AUTOINCREMENT, and an index of what each path holds
 * now. One process holds it at a time (exclusive locking).
 *
 * Commits are not synced one by one (WAL, `synchronous = NORMAL`): a crash
 * of the process loses nothing, but one of the machine may lose the last
 * changes, so that the sequence could run back and be reused. The journal
 * therefore marks itself in use, durably, when it opens and clean when it
 * closes; opening one still marked in use (the server was killed, or the
 * machine went down) gives it a new id, so every old cursor expires and
 * clients list the tree once. The index is kept: whatever it lost, the
 * server finds when it compares it with the files (tree_index.ts).
 *
 * Changes are written as they come (every answer the journal gives includes
 * them) but committed together, once per turn of the event loop or every
 * {@link GROUP_CHANGES} changes: a tree's files are recorded at a fraction
 * of a transaction each. A crash of the process before the commit is then
 * what a crash of the machine was: the journal is still marked in use. A
 * commit that fails (a full disk) leaves the journal without the changes
 * it had handed out; it takes a new id at once, so no cursor that saw them
 * is trusted again, and goes on.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type {
  ChangesSince,
  IndexedEntry,
  Journal,
  JournalChange,
  JournalOp,
  SinceOptions,
} from "./journal.ts";
import { changesPage, expiredCursor } from "./journal.ts";

export type { ChangesSince, IndexedEntry, JournalChange, JournalOp } from "./journal.ts";

/** Options of {@link ChangeJournal.open}. */
export interface ChangeJournalOptions {
  /** Changes kept for clients that ask; older ones are dropped. Default 100,000. */
  retain?: number;
  /** Called once the journal is closed, whatever happened. */
  onClose?: () => void;
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

/** Changes written in one transaction at most before it is committed. */
export const GROUP_CHANGES = 256;

/** The journal and index of one user's files, in one SQLite file. */
export class ChangeJournal implements Journal {
  #id: string;
  readonly #db: DatabaseSync;
  readonly #options: ChangeJournalOptions;
  readonly #retain: number;
  readonly #statements: Statements;
  #closed = false;
  /** The transaction open for the changes of this turn of the event loop, if any. */
  #group: { changes: number; commit: ReturnType<typeof setTimeout> } | undefined;
  /** A commit failed: the next one first writes down the new id (and drops the old changes). */
  #renewId = false;

  private constructor(db: DatabaseSync, options: ChangeJournalOptions) {
    this.#db = db;
    this.#options = options;
    this.#retain = options.retain ?? 100_000;
    this.#statements = prepare(db);
    this.#id = this.#markInUse();
  }

  /** Changes only with an unclean end (the mark left in use) or a failed commit. */
  get id(): string {
    return this.#id;
  }

  /**
   * Opens the journal in the file `path`, creating it if missing. Once this
   * returns, SQLite holds the file and its write-ahead log open.
   */
  static open(path: string, options: ChangeJournalOptions = {}): ChangeJournal {
    const db = new DatabaseSync(path);
    try {
      // Exclusive before WAL: the WAL index then lives in memory, with no -shm file.
      db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA busy_timeout = 2000;");
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
      db.exec(SCHEMA);
      return new ChangeJournal(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Reads or makes the id (a new one after an unclean end) and marks the journal in use. */
  #markInUse(): string {
    const meta = (key: string) =>
      (this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
        | { value: string }
        | undefined)?.value;
    const set = this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    let id = meta("id");
    this.#transaction(() => {
      if (id === undefined || meta("in-use") === "1") {
        id = crypto.randomUUID();
        set.run("id", id);
        this.#db.exec("DELETE FROM changes");
      }
      set.run("in-use", "1");
    });
    // Into the database file, synced: a lost log cannot take the mark with it.
    this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return id!;
  }

  sequence(): Promise<number> {
    return this.#run(() => this.#last());
  }

  lookup(path: string): Promise<IndexedEntry | undefined> {
    return this.#run(() => {
      const row = this.#statements.lookup.get(path) as Row | undefined;
      return row === undefined ? undefined : entryOf(row);
    });
  }

  entriesAfter(under: string, after: string | null, limit: number) {
    return this.#run(() => {
      const rows = under === "/"
        ? this.#statements.allAfter.all(after ?? "", limit)
        : this.#statements.insideAfter.all(`${under}/`, `${under}0`, after ?? "", limit);
      return (rows as unknown as Row[]).map((row): [string, IndexedEntry] => [
        row.path,
        entryOf(row),
      ]);
    });
  }

  put(path: string, entry: IndexedEntry): Promise<JournalChange> {
    return this.#run(() =>
      this.#write(() => {
        const op = entry.kind === "directory" ? "mkdir" : "put";
        const change = this.#append({ op, path, ...entry });
        if (entry.kind === "file") this.#statements.removeInside.run(`${path}/`, `${path}0`);
        this.#statements.upsert.run(
          path,
          entry.kind,
          entry.size,
          entry.mtimeMs,
          entry.sha256 ?? null,
          change.sequence,
        );
        return change;
      })
    );
  }

  delete(path: string): Promise<JournalChange> {
    return this.#run(() =>
      this.#write(() => {
        const change = this.#append({ op: "delete", path });
        this.#statements.remove.run(path, `${path}/`, `${path}0`);
        return change;
      })
    );
  }

  rename(from: string, to: string): Promise<JournalChange> {
    return this.#run(() =>
      this.#write(() => {
        const change = this.#append({ op: "rename", path: to, from });
        this.#statements.remove.run(to, `${to}/`, `${to}0`);
        this.#statements.move.run(
          to,
          from.length + 1,
          change.sequence,
          from,
          `${from}/`,
          `${from}0`,
        );
        return change;
      })
    );
  }

  rememberHash(path: string, entry: IndexedEntry & { sha256: string }): Promise<boolean> {
    return this.#run(() =>
      this.#write(() => {
        const { sha256, size, mtimeMs } = entry;
        const updated = this.#statements.hashEntry.run(sha256, path, size, mtimeMs).changes;
        if (Number(updated) === 0) return false;
        this.#statements.hashChange.run(sha256, path, size, mtimeMs);
        return true;
      })
    );
  }

  since(journalId: string, sequence: number, options: SinceOptions): Promise<ChangesSince> {
    return this.#run(() => {
      const current = this.#last();
      const oldest = this.#statements.first.get() as { sequence: number | null };
      const firstKept = oldest.sequence ?? current + 1;
      const expired = expiredCursor(journalId, sequence, { id: this.id, current, firstKept });
      if (expired) return expired;
      const { limit, under = "/" } = options;
      const rows = under === "/"
        ? this.#statements.since.all(sequence, limit + 1)
        : this.#statements.sinceUnder.all(sequence, under, `${under}/`, `${under}0`, limit + 1);
      return changesPage((rows as unknown as ChangeRow[]).map(changeOf), limit, current);
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    try {
      try {
        this.#commitGroup();
        // A journal whose last commit failed stays marked in use: reopened, it takes a new id.
        if (!this.#renewId) {
          this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('in-use', '0')").run();
        }
      } finally {
        this.#db.close();
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    } finally {
      this.#options.onClose?.();
    }
  }

  /** The last sequence handed out, kept even when its change was pruned or dropped. */
  #last(): number {
    const row = this.#statements.last.get() as { seq: number } | undefined;
    return row?.seq ?? 0;
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

  /** Runs synchronous work behind the asynchronous interface. */
  #run<T>(work: () => T): Promise<T> {
    try {
      if (this.#closed) throw new Error("the change journal is closed");
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs the statements of one change in this turn's transaction (begun if
   * none is open, committed at the end of the turn or once it holds
   * {@link GROUP_CHANGES} changes). A change that fails takes the changes
   * before it in the transaction with it: see {@link #abandonGroup}.
   */
  #write<T>(work: () => T): T {
    if (this.#group === undefined) {
      this.#statements.begin.run();
      this.#group = { changes: 0, commit: setTimeout(() => this.#commitGroup(), 0) };
      if (this.#renewId) this.#writeNewId();
    }
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.#abandonGroup();
      throw error;
    }
    if (++this.#group.changes >= GROUP_CHANGES) this.#commitGroup();
    return result;
  }

  /** Commits the open transaction, if any; a failure is {@link #abandonGroup}'s. */
  #commitGroup(): void {
    const group = this.#group;
    if (group === undefined) return;
    clearTimeout(group.commit);
    try {
      this.#statements.commit.run();
      this.#group = undefined;
      this.#renewId = false;
    } catch {
      this.#abandonGroup();
    }
  }

  /**
   * Rolls the open transaction back. Its changes were handed out (their
   * sequences answered): the journal takes a new id now, written down with
   * the next commit, so that every cursor that saw them expires.
   */
  #abandonGroup(): void {
    const group = this.#group;
    if (group === undefined) return;
    clearTimeout(group.commit);
    this.#group = undefined;
    try {
      this.#statements.rollback.run();
    } catch { /* SQLite rolled it back itself. */ }
    this.#id = crypto.randomUUID();
    this.#renewId = true;
  }

  /** The id taken after a failed commit, and no changes before it (as an unclean end does). */
  #writeNewId(): void {
    this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('id', ?)").run(this.#id);
    this.#db.exec("DELETE FROM changes");
  }

  #transaction<T>(work: () => T): T {
    this.#statements.begin.run();
    try {
      const result = work();
      this.#statements.commit.run();
      return result;
    } catch (error) {
      this.#statements.rollback.run();
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

type Statements = ReturnType<typeof prepare>;

/**
 * The statements the journal runs. `[path/, path0)` is everything inside
 * `path` ('0' follows '/'); in `sinceUnder`, `substr(?2, …) = path || '/'`
 * says that the change's path is a parent of the folder asked about.
 */
function prepare(db: DatabaseSync) {
  const statement = (sql: string): StatementSync => db.prepare(sql);
  return {
    begin: statement("BEGIN IMMEDIATE"),
    commit: statement("COMMIT"),
    rollback: statement("ROLLBACK"),
    last: statement("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
    first: statement("SELECT min(sequence) AS sequence FROM changes"),
    lookup: statement("SELECT * FROM entries WHERE path = ?"),
    upsert: statement(
      "INSERT OR REPLACE INTO entries (path, kind, size, mtime_ms, sha256, version) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    remove: statement("DELETE FROM entries WHERE path = ? OR (path >= ? AND path < ?)"),
    removeInside: statement("DELETE FROM entries WHERE path >= ? AND path < ?"),
    move: statement(
      `UPDATE entries SET path = ?1 || substr(path, ?2), version = ?3
       WHERE path = ?4 OR (path >= ?5 AND path < ?6)`,
    ),
    hashEntry: statement(
      "UPDATE entries SET sha256 = ? WHERE path = ? AND kind = 'file' AND size = ? AND mtime_ms = ?",
    ),
    hashChange: statement(
      `UPDATE changes SET sha256 = ?1 WHERE sequence = (SELECT version FROM entries WHERE path = ?2)
       AND op = 'put' AND path = ?2 AND size = ?3 AND mtime_ms = ?4 AND sha256 IS NULL`,
    ),
    append: statement(
      "INSERT INTO changes (op, path, from_path, kind, size, mtime_ms, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    prune: statement("DELETE FROM changes WHERE sequence <= ?"),
    since: statement("SELECT * FROM changes WHERE sequence > ? ORDER BY sequence LIMIT ?"),
    sinceUnder: statement(
      `SELECT * FROM changes WHERE sequence > ?1 AND (
         path = ?2 OR (path >= ?3 AND path < ?4) OR from_path = ?2
         OR (from_path >= ?3 AND from_path < ?4)
         OR substr(?2, 1, length(path) + 1) = path || '/'
         OR substr(?2, 1, length(from_path) + 1) = from_path || '/'
       ) ORDER BY sequence LIMIT ?5`,
    ),
    allAfter: statement("SELECT * FROM entries WHERE path > ? ORDER BY path LIMIT ?"),
    insideAfter: statement(
      "SELECT * FROM entries WHERE path >= ? AND path < ? AND path > ? ORDER BY path LIMIT ?",
    ),
  };
}
