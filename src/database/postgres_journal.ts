/**
 * A user's {@link Journal} in PostgreSQL, for the object-store backend: the
 * same journal as the local SQLite one (change_journal.ts), kept where every
 * node sees it. Each method is one transaction; the metadata store records
 * its changes through the same writes (journal_records.ts) inside its own.
 *
 * Unlike the local journal, its id does not change after a crash: every
 * commit is durable in the database, so no sequence is ever lost or handed
 * out twice, and cursors stay good. Several nodes may write at once: the
 * user's row numbers their changes in commit order.
 *
 * @module
 */

import type {
  ChangesSince,
  IndexedEntry,
  Journal,
  JournalChange,
  SinceOptions,
} from "../storage/journal.ts";
import { changesPage, expiredCursor } from "../storage/journal.ts";
import type { Database, TransactionSql } from "./database.ts";
import {
  changeOf,
  type ChangeRow,
  DEFAULT_RETAIN,
  ensureStorageUser,
  entryOf,
  type JournalRow,
  recordDelete,
  recordPut,
  recordRename,
} from "./journal_records.ts";
import { checkPath, insideRange } from "./metadata_paths.ts";

/** Options of {@link PostgresJournal.open}. */
export interface PostgresJournalOptions {
  /** Changes kept for clients that ask; older ones are dropped. Default 100,000. */
  retain?: number;
}

/** One user's change journal and index, in the shared database. */
export class PostgresJournal implements Journal {
  readonly id: string;
  readonly #database: Database;
  readonly #user: string;
  readonly #retain: number;
  #closed = false;

  private constructor(database: Database, user: string, id: string, retain: number) {
    this.#database = database;
    this.#user = user;
    this.id = id;
    this.#retain = retain;
  }

  /** Opens `user`'s journal, making it (and the user's storage row) if missing. */
  static async open(
    database: Database,
    user: string,
    options: PostgresJournalOptions = {},
  ): Promise<PostgresJournal> {
    const id = await database.transaction(async (sql) => {
      await ensureStorageUser(sql, user, Date.now());
      const [row] = await sql<{ journal_id: string }[]>`
        SELECT journal_id FROM storage_users WHERE user_name = ${user}`;
      return row.journal_id;
    });
    return new PostgresJournal(database, user, id, options.retain ?? DEFAULT_RETAIN);
  }

  sequence(): Promise<number> {
    return this.#read((sql) => lastSequence(sql, this.#user));
  }

  lookup(path: string): Promise<IndexedEntry | undefined> {
    return this.#read(async (sql) => {
      const [row] = await sql<JournalRow[]>`
        SELECT * FROM journal_index WHERE user_name = ${this.#user} AND path = ${checkPath(path)}`;
      return row === undefined ? undefined : entryOf(row);
    });
  }

  entriesAfter(under: string, after: string | null, limit: number) {
    return this.#read(async (sql) => {
      const [start, end] = insideRange(checkPath(under));
      const rows = await sql<JournalRow[]>`
        SELECT * FROM journal_index WHERE user_name = ${this.#user}
          AND path >= ${start} AND path < ${end} AND path <> '/' AND path > ${after ?? ""}
        ORDER BY path LIMIT ${limit}`;
      return rows.map((row): [string, IndexedEntry] => [row.path, entryOf(row)]);
    });
  }

  put(path: string, entry: IndexedEntry): Promise<JournalChange> {
    return this.#write((sql) => recordPut(sql, this.#user, checkPath(path), entry, this.#retain));
  }

  delete(path: string): Promise<JournalChange> {
    return this.#write((sql) => recordDelete(sql, this.#user, checkPath(path), this.#retain));
  }

  rename(from: string, to: string): Promise<JournalChange> {
    return this.#write((sql) =>
      recordRename(sql, this.#user, checkPath(from), checkPath(to), this.#retain)
    );
  }

  rememberHash(path: string, entry: IndexedEntry & { sha256: string }): Promise<boolean> {
    return this.#write(async (sql) => {
      const user = this.#user;
      const [row] = await sql<{ version: number }[]>`
        UPDATE journal_index SET sha256 = ${entry.sha256}
        WHERE user_name = ${user} AND path = ${checkPath(path)} AND kind = 'file'
          AND size = ${entry.size} AND mtime_ms = ${entry.mtimeMs}
        RETURNING version`;
      if (row === undefined) return false;
      await sql`UPDATE journal_changes SET sha256 = ${entry.sha256}
                WHERE user_name = ${user} AND sequence = ${row.version} AND op = 'put'
                  AND path = ${path} AND size = ${entry.size} AND mtime_ms = ${entry.mtimeMs}
                  AND sha256 IS NULL`;
      return true;
    });
  }

  since(journalId: string, sequence: number, options: SinceOptions): Promise<ChangesSince> {
    return this.#read(async (sql) => {
      const current = await lastSequence(sql, this.#user);
      const [oldest] = await sql<{ first: number | null }[]>`
        SELECT min(sequence) AS first FROM journal_changes WHERE user_name = ${this.#user}`;
      const firstKept = oldest.first ?? current + 1;
      const expired = expiredCursor(journalId, sequence, { id: this.id, current, firstKept });
      if (expired) return expired;
      const rows = await changesAfter(sql, this.#user, sequence, options);
      return changesPage(rows.map(changeOf), options.limit, current);
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Reads at one moment (a read-only snapshot), so that several queries agree. */
  #read<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("the change journal is closed"));
    return this.#database.transaction(work, { isolation: "snapshot" });
  }

  #write<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("the change journal is closed"));
    return this.#database.transaction(work);
  }
}

async function lastSequence(sql: TransactionSql, user: string): Promise<number> {
  const [row] = await sql<{ last_sequence: number }[]>`
    SELECT last_sequence FROM storage_users WHERE user_name = ${user}`;
  return row?.last_sequence ?? 0;
}

/**
 * Up to `limit + 1` changes after `sequence`; under a folder, those at or
 * inside it (either path of a rename) and those of one of its parents.
 */
function changesAfter(
  sql: TransactionSql,
  user: string,
  sequence: number,
  options: SinceOptions,
): Promise<ChangeRow[]> {
  const under = checkPath(options.under ?? "/");
  if (under === "/") {
    return sql<ChangeRow[]>`
      SELECT * FROM journal_changes WHERE user_name = ${user} AND sequence > ${sequence}
      ORDER BY sequence LIMIT ${options.limit + 1}`;
  }
  const [start, end] = insideRange(under);
  return sql<ChangeRow[]>`
    SELECT * FROM journal_changes WHERE user_name = ${user} AND sequence > ${sequence} AND (
      path = ${under} OR (path >= ${start} AND path < ${end})
      OR from_path = ${under} OR (from_path >= ${start} AND from_path < ${end})
      OR substr(${under}, 1, length(path) + 1) = path || '/'
      OR substr(${under}, 1, length(from_path) + 1) = from_path || '/'
    ) ORDER BY sequence LIMIT ${options.limit + 1}`;
}
