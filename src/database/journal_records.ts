/**
 * The change journal's writes and reads inside a transaction, so that the
 * metadata store can record a change in the very transaction that makes it
 * (postgres_journal.ts runs each in one of its own). Sequences come from the
 * user's `storage_users` row, which every writer updates and so locks until
 * it commits: changes are numbered and become visible in order, whichever
 * node writes them. Every change also sends the "journal moved" signal
 * (journal_signal.ts), delivered when the transaction commits.
 *
 * @module
 */

import type { IndexedEntry, JournalChange, JournalOp } from "../storage/journal.ts";
import type { TransactionSql } from "./database.ts";
import { JOURNAL_CHANNEL } from "./journal_signal.ts";
import { insideRange } from "./metadata_paths.ts";

/** Changes kept by default for clients that ask (as the local journal keeps). */
export const DEFAULT_RETAIN = 100_000;

/** A row of `journal_index` or `journal_changes`. */
export interface JournalRow {
  path: string;
  kind: "file" | "directory" | null;
  size: number | null;
  mtime_ms: number | null;
  sha256: string | null;
}

/** A row of `journal_changes`. */
export interface ChangeRow extends JournalRow {
  sequence: number;
  op: JournalOp;
  from_path: string | null;
}

/** Makes the user's row (their journal id) and their root folder if missing. */
export async function ensureStorageUser(
  sql: TransactionSql,
  user: string,
  nowMs: number,
): Promise<void> {
  await sql`INSERT INTO storage_users (user_name, journal_id)
            VALUES (${user}, gen_random_uuid()) ON CONFLICT DO NOTHING`;
  await sql`INSERT INTO entries (user_name, path, parent, name, kind, size, mtime_ms)
            VALUES (${user}, '/', NULL, '', 'directory', 0, ${nowMs}) ON CONFLICT DO NOTHING`;
}

/** Numbers and appends a change (locking the user's row until commit) and signals it. */
export async function appendChange(
  sql: TransactionSql,
  user: string,
  change: Omit<JournalChange, "sequence">,
  retain = DEFAULT_RETAIN,
): Promise<JournalChange> {
  const [{ sequence }] = await sql<{ sequence: number }[]>`
    UPDATE storage_users SET last_sequence = last_sequence + 1
    WHERE user_name = ${user} RETURNING last_sequence AS sequence`;
  await sql`
    INSERT INTO journal_changes (user_name, sequence, op, path, from_path, kind, size, mtime_ms, sha256)
    VALUES (${user}, ${sequence}, ${change.op}, ${change.path}, ${change.from ?? null},
            ${change.kind ?? null}, ${change.size ?? null}, ${change.mtimeMs ?? null},
            ${change.sha256 ?? null})`;
  if (sequence % 1024 === 0) {
    await sql`DELETE FROM journal_changes
              WHERE user_name = ${user} AND sequence <= ${sequence - retain}`;
  }
  await sql`SELECT pg_notify(${JOURNAL_CHANNEL}, ${user})`;
  return { sequence, ...change };
}

/** Records that `path` holds `entry`: a change, and the index (a file replaces what was inside). */
export async function recordPut(
  sql: TransactionSql,
  user: string,
  path: string,
  entry: IndexedEntry,
  retain?: number,
): Promise<JournalChange> {
  const op = entry.kind === "directory" ? "mkdir" : "put";
  const change = await appendChange(sql, user, { op, path, ...entry }, retain);
  if (entry.kind === "file") {
    const [start, end] = insideRange(path);
    await sql`DELETE FROM journal_index
              WHERE user_name = ${user} AND path >= ${start} AND path < ${end}`;
  }
  await sql`
    INSERT INTO journal_index (user_name, path, kind, size, mtime_ms, sha256, version)
    VALUES (${user}, ${path}, ${entry.kind}, ${entry.size}, ${entry.mtimeMs},
            ${entry.sha256 ?? null}, ${change.sequence})
    ON CONFLICT (user_name, path) DO UPDATE SET kind = excluded.kind, size = excluded.size,
      mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256, version = excluded.version`;
  return change;
}

/** Records that `path` and everything inside it went. */
export async function recordDelete(
  sql: TransactionSql,
  user: string,
  path: string,
  retain?: number,
): Promise<JournalChange> {
  const change = await appendChange(sql, user, { op: "delete", path }, retain);
  await deleteIndexed(sql, user, path);
  return change;
}

/** Records that `from` (and everything inside it) is now at `to`, replacing what was there. */
export async function recordRename(
  sql: TransactionSql,
  user: string,
  from: string,
  to: string,
  retain?: number,
): Promise<JournalChange> {
  const change = await appendChange(sql, user, { op: "rename", path: to, from }, retain);
  await deleteIndexed(sql, user, to);
  const [start, end] = insideRange(from);
  await sql`
    UPDATE journal_index SET path = ${to} || substr(path, length(${from}) + 1),
      version = ${change.sequence}
    WHERE user_name = ${user} AND (path = ${from} OR (path >= ${start} AND path < ${end}))`;
  return change;
}

async function deleteIndexed(sql: TransactionSql, user: string, path: string): Promise<void> {
  const [start, end] = insideRange(path);
  await sql`DELETE FROM journal_index WHERE user_name = ${user}
            AND (path = ${path} OR (path >= ${start} AND path < ${end}))`;
}

/** The journal's entry for `path` as an {@link IndexedEntry}. */
export function entryOf(row: JournalRow): IndexedEntry {
  const entry: IndexedEntry = { kind: row.kind!, size: row.size!, mtimeMs: row.mtime_ms! };
  if (row.sha256 !== null) entry.sha256 = row.sha256;
  return entry;
}

/** A `journal_changes` row as a {@link JournalChange}. */
export function changeOf(row: ChangeRow): JournalChange {
  const change: JournalChange = { sequence: row.sequence, op: row.op, path: row.path };
  if (row.from_path !== null) change.from = row.from_path;
  if (row.kind !== null) Object.assign(change, entryOf(row));
  return change;
}
