/**
 * The `entries` table inside a transaction: the names of one user's files
 * and folders. Writers lock the rows they read and the folders they change
 * (`FOR UPDATE`, several at once in path order, so that two writers take
 * them in the same order), so a check and the change it allows cannot be
 * separated by another node's change.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import type { EntryInfo } from "../storage/storage.ts";
import { StorageError } from "../storage/storage.ts";
import type { TransactionSql } from "./database.ts";
import { insideRange, nameOf, parentOf } from "./metadata_paths.ts";

/** A row of `entries`. */
export interface EntryRow {
  path: string;
  parent: string | null;
  name: string;
  kind: "file" | "directory";
  size: number;
  mtime_ms: number;
  sha256: string | null;
  object_id: number | null;
}

/** An entry as the metadata store gives it: the storage's view, plus what names the content. */
export interface MetadataEntry extends EntryInfo {
  kind: "file" | "directory";
  /** Lowercase hex, for files. */
  sha256?: string;
  /** The object holding a file's content. */
  objectId?: number;
}

/** Locks the rows of `paths` that exist (in path order) and resolves to them by path. */
export async function lockEntries(
  sql: TransactionSql,
  user: string,
  paths: string[],
): Promise<Map<string, EntryRow>> {
  const rows = await sql<EntryRow[]>`
    SELECT * FROM entries WHERE user_name = ${user} AND path = ANY(${
    sql.array([...new Set(paths)])
  })
    ORDER BY path FOR UPDATE`;
  return new Map(rows.map((row) => [row.path, row]));
}

/** The folder a new name goes in, from locked rows: NOT_FOUND or NOT_A_DIRECTORY otherwise. */
export function requireFolder(rows: Map<string, EntryRow>, folder: string, child: string): void {
  const row = rows.get(folder);
  if (row === undefined) {
    throw new StorageError(STATUS.NOT_FOUND, `${child}: the folder ${folder} does not exist`);
  }
  if (row.kind !== "directory") {
    throw new StorageError(STATUS.NOT_A_DIRECTORY, `${child}: ${folder} is not a directory`);
  }
}

/** Adds a name; false if it exists already (another writer made it first). */
export async function insertEntry(
  sql: TransactionSql,
  user: string,
  path: string,
  entry: Omit<EntryRow, "path" | "parent" | "name">,
): Promise<boolean> {
  const rows = await sql`
    INSERT INTO entries (user_name, path, parent, name, kind, size, mtime_ms, sha256, object_id)
    VALUES (${user}, ${path}, ${parentOf(path)}, ${nameOf(path)}, ${entry.kind}, ${entry.size},
            ${entry.mtime_ms}, ${entry.sha256}, ${entry.object_id})
    ON CONFLICT DO NOTHING RETURNING path`;
  return rows.length === 1;
}

/** Gives folders the time of a change in them, as a filesystem does. */
export async function touchFolders(
  sql: TransactionSql,
  user: string,
  folders: (string | null)[],
  nowMs: number,
): Promise<void> {
  const paths = [...new Set(folders.filter((folder) => folder !== null))];
  await sql`UPDATE entries SET mtime_ms = ${nowMs}
            WHERE user_name = ${user} AND path = ANY(${sql.array(paths)}) AND kind = 'directory'`;
}

/** Whether the folder `path` holds anything. */
export async function hasChildren(
  sql: TransactionSql,
  user: string,
  path: string,
): Promise<boolean> {
  const rows = await sql`SELECT 1 FROM entries WHERE user_name = ${user} AND parent = ${path}
                         LIMIT 1`;
  return rows.length > 0;
}

/** Deletes `path` and everything inside it; resolves to the number of names removed. */
export async function deleteTree(
  sql: TransactionSql,
  user: string,
  path: string,
): Promise<number> {
  const [start, end] = insideRange(path);
  const result = await sql`DELETE FROM entries WHERE user_name = ${user}
                           AND (path = ${path} OR (path >= ${start} AND path < ${end}))`;
  return result.count;
}

/** Renames `from` and everything inside it to `to`, in one statement. */
export async function moveTree(
  sql: TransactionSql,
  user: string,
  from: string,
  to: string,
): Promise<number> {
  const [start, end] = insideRange(from);
  const result = await sql`
    UPDATE entries SET
      path = ${to} || substr(path, length(${from}) + 1),
      parent = CASE WHEN path = ${from} THEN ${parentOf(to)}
                    ELSE ${to} || substr(parent, length(${from}) + 1) END,
      name = CASE WHEN path = ${from} THEN ${nameOf(to)} ELSE name END
    WHERE user_name = ${user} AND (path = ${from} OR (path >= ${start} AND path < ${end}))`;
  return result.count;
}

/** A row as the store gives it. */
export function entryOfRow(row: EntryRow): MetadataEntry {
  const entry: MetadataEntry = {
    name: row.name,
    kind: row.kind,
    size: row.size,
    mtimeMs: row.mtime_ms,
  };
  if (row.sha256 !== null) entry.sha256 = row.sha256;
  if (row.object_id !== null) entry.objectId = row.object_id;
  return entry;
}

/** The failure for a name that is missing. */
export function notFound(path: string): StorageError {
  return new StorageError(STATUS.NOT_FOUND, `${path}: no such file or directory`);
}
