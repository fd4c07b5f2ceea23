/**
 * The `objects` table: every immutable object of the object store that DFOS
 * made, with its life as states. An object is recorded `pending` before its
 * bytes are stored, so that a crash leaves a record the collector finds;
 * `stored` once the store has all of it; `deleting` once the collector has
 * claimed it, after which nothing may name it and its bytes are removed.
 *
 * The collector and a writer naming an object cannot cross: the writer locks
 * the stored object (`FOR SHARE`) before naming it, the collector locks its
 * candidates (`FOR UPDATE SKIP LOCKED`) and then, in a statement of its own
 * that sees every name committed before, claims only those still unnamed.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { StorageError } from "../storage/storage.ts";
import type { Database, Sql, TransactionSql } from "./database.ts";
import { checkSha256, checkText, checkWhole } from "./metadata_paths.ts";

/** Longest object key kept, in bytes (S3's limit). */
export const MAX_OBJECT_KEY_BYTES = 1024;

/** An object a name was given. */
export interface PlacedObject {
  objectId: number;
  size: number;
  sha256: string;
  /** Another stored object of the same content was named instead of the one offered. */
  deduplicated: boolean;
}

/** An object the collector claimed: remove its bytes, then {@link forgetObjects}. */
export interface GarbageObject {
  id: number;
  user: string;
  key: string;
}

/** What a new object is: its key in the store and, if known, its size and SHA-256. */
export interface NewObject {
  key: string;
  size: number;
  /** Known at once for a whole file; for an upload, when it completes. */
  sha256?: string;
}

/**
 * Records a `pending` object for `user` before its bytes are stored (one
 * statement: alone, or in the caller's transaction); resolves to its id.
 */
export async function recordPendingObject(
  sql: Sql | TransactionSql,
  user: string,
  object: NewObject,
): Promise<number> {
  checkText(object.key, "an object key", MAX_OBJECT_KEY_BYTES);
  checkWhole(object.size, "an object's size");
  if (object.sha256 !== undefined) checkSha256(object.sha256);
  const rows = await sql<{ id: number }[]>`
    INSERT INTO objects (user_name, key, size, sha256, state)
    VALUES (${user}, ${object.key}, ${object.size}, ${object.sha256 ?? null}, 'pending')
    ON CONFLICT (key) DO NOTHING RETURNING id`;
  if (rows.length === 0) {
    throw new StorageError(STATUS.EXISTS, `the object key ${object.key} is recorded already`);
  }
  return rows[0].id;
}

/** A stored object as a name is given it: its id, size and SHA-256. */
export interface StoredObject {
  objectId: number;
  size: number;
  sha256: string;
}

/**
 * Marks a pending object `stored` (its bytes are all in the store), with its
 * SHA-256; resolves to it. In a transaction, the row stays locked until it
 * ends, so the collector cannot claim it before a name given it commits.
 */
export async function markObjectStored(
  sql: TransactionSql,
  user: string,
  id: number,
  sha256: string,
): Promise<StoredObject> {
  checkSha256(sha256);
  const [row] = await sql<ObjectRow[]>`
    UPDATE objects SET state = 'stored', sha256 = ${sha256}
    WHERE id = ${id} AND user_name = ${user} AND state = 'pending'
      AND (sha256 IS NULL OR sha256 = ${sha256})
    RETURNING id, size, sha256`;
  return storedObjectOf(row, `object ${id} is not a pending object of ${user}`);
}

/**
 * Locks (FOR SHARE) the stored object `id` of `user` so that the collector
 * cannot claim it before the name commits; resolves to it.
 */
export async function lockStoredObject(
  sql: TransactionSql,
  user: string,
  id: number,
): Promise<StoredObject> {
  const [offered] = await sql<ObjectRow[]>`
    SELECT id, size, sha256 FROM objects
    WHERE id = ${id} AND user_name = ${user} AND state = 'stored' FOR SHARE`;
  return storedObjectOf(offered, `object ${id} is not a stored object of ${user}`);
}

/** An object's row as the queries above return it. */
interface ObjectRow {
  id: number;
  size: number;
  sha256: string;
}

/** `row` as a {@link StoredObject}; IO_ERROR saying `missing` if there is none. */
function storedObjectOf(row: ObjectRow | undefined, missing: string): StoredObject {
  if (row === undefined) throw new StorageError(STATUS.IO_ERROR, missing);
  return { objectId: row.id, size: row.size, sha256: row.sha256 };
}

/**
 * The oldest stored object of the same content as `offered`, if one is free
 * to lock (FOR SHARE), to be named instead; else `offered` itself.
 */
export async function preferOlderCopy(
  sql: TransactionSql,
  user: string,
  offered: StoredObject,
): Promise<PlacedObject> {
  const [older] = await sql<{ id: number }[]>`
    SELECT id FROM objects WHERE user_name = ${user} AND state = 'stored'
      AND sha256 = ${offered.sha256} AND size = ${offered.size} AND id < ${offered.objectId}
    ORDER BY id LIMIT 1 FOR SHARE SKIP LOCKED`;
  if (older === undefined) return { ...offered, deduplicated: false };
  return { ...offered, objectId: older.id, deduplicated: true };
}

/**
 * Claims up to `limit` objects that no name and no upload (nor its tail) refers to and that
 * are older than `graceMs` (a pending one may still be being written):
 * marks them `deleting` and resolves to them. Remove their bytes, then
 * {@link forgetObjects}; a crash between leaves them claimed, for the next run.
 */
export function claimGarbage(
  database: Database,
  graceMs: number,
  limit = 1000,
): Promise<GarbageObject[]> {
  return database.transaction(async (sql) => {
    const candidates = await sql<{ id: number }[]>`
      SELECT id FROM objects
      WHERE state <> 'deleting' AND created_at < now() - ${graceMs} * interval '1 millisecond'
      ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    const ids = candidates.map((row) => row.id);
    const claimed = await sql<{ id: number; user_name: string; key: string }[]>`
      UPDATE objects SET state = 'deleting'
      WHERE id = ANY(${sql.array(ids)}::bigint[])
        AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.object_id = objects.id)
        AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.object_id = objects.id)
        AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.tail_object_id = objects.id)
      RETURNING id, user_name, key`;
    const previously = await sql<{ id: number; user_name: string; key: string }[]>`
      SELECT id, user_name, key FROM objects WHERE state = 'deleting'
        AND NOT (id = ANY(${sql.array(claimed.map((row) => row.id))}::bigint[]))
      ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    return [...claimed, ...previously].map((row) => ({
      id: row.id,
      user: row.user_name,
      key: row.key,
    }));
  });
}

/** Deletes the records of claimed objects whose bytes are gone from the store. */
export async function forgetObjects(database: Database, ids: number[]): Promise<number> {
  return await database.run(async (sql) => {
    const result = await sql`DELETE FROM objects
                             WHERE id = ANY(${sql.array(ids)}::bigint[]) AND state = 'deleting'`;
    return result.count;
  });
}
