/**
 * The reads and small writes of the object-store backend that the metadata
 * store (src/database/object_metadata.ts) does not offer: the object a name
 * reads from, a stored object of some content, usage in one query, and the
 * tail of an interrupted upload (the bytes of its unfinished part, kept as a
 * small object of their own, `uploads.tail_object_id`).
 *
 * @module
 */

import type { Database } from "../../database/database.ts";
import { usageIn } from "../../database/quota_usage.ts";

/** A file's entry with the key of the object holding its content. */
export interface FileObject {
  kind: "file" | "directory";
  size: number;
  mtimeMs: number;
  /** Null for a folder. */
  key: string | null;
}

/** The entry at `path` with its object's key; undefined if there is none. */
export async function fileObject(
  database: Database,
  user: string,
  path: string,
): Promise<FileObject | undefined> {
  const [row] = await database.run((sql) =>
    sql<{ kind: "file" | "directory"; size: number; mtime_ms: number; key: string | null }[]>`
      SELECT e.kind, e.size, e.mtime_ms, o.key FROM entries e
      LEFT JOIN objects o ON o.id = e.object_id
      WHERE e.user_name = ${user} AND e.path = ${path}`
  );
  if (row === undefined) return undefined;
  return { kind: row.kind, size: row.size, mtimeMs: row.mtime_ms, key: row.key };
}

/** Which of `paths` name an entry of `user`. */
export async function existingPaths(
  database: Database,
  user: string,
  paths: string[],
): Promise<Set<string>> {
  const rows = await database.run((sql) =>
    sql<{ path: string }[]>`
      SELECT path FROM entries WHERE user_name = ${user} AND path = ANY(${sql.array(paths)})`
  );
  return new Set(rows.map((row) => row.path));
}

/** The kind of the entry at each of `paths` that names one, in one query. */
export async function entryKinds(
  database: Database,
  user: string,
  paths: string[],
): Promise<Map<string, "file" | "directory">> {
  const rows = await database.run((sql) =>
    sql<{ path: string; kind: "file" | "directory" }[]>`
      SELECT path, kind FROM entries WHERE user_name = ${user} AND path = ANY(${sql.array(paths)})`
  );
  return new Map(rows.map((row) => [row.path, row.kind]));
}

/** The oldest stored object of `user` with this content, if any (to name it instead of storing again). */
export async function storedObjectOf(
  database: Database,
  user: string,
  sha256: string,
  size: number,
): Promise<number | undefined> {
  const [row] = await database.run((sql) =>
    sql<{ id: number }[]>`
      SELECT id FROM objects WHERE user_name = ${user} AND state = 'stored'
        AND sha256 = ${sha256} AND size = ${size} ORDER BY id LIMIT 1`
  );
  return row?.id;
}

/** The user's usage (quota_usage.ts), at one moment. */
export function usageOf(database: Database, user: string): Promise<number> {
  return database.transaction((sql) => usageIn(sql, user), { isolation: "snapshot" });
}

/** The tail an upload keeps: its object's key and size; undefined if none. */
export async function uploadTail(
  database: Database,
  uploadId: number,
): Promise<{ key: string; size: number } | undefined> {
  const [row] = await database.run((sql) =>
    sql<{ key: string; size: number }[]>`
      SELECT o.key, o.size FROM uploads u JOIN objects o ON o.id = u.tail_object_id
      WHERE u.id = ${uploadId}`
  );
  return row;
}

/**
 * Makes the stored object `objectId` (or none, with null) the upload's
 * tail; an older tail is left to the collector. Counts as writing to the
 * upload. False if the upload is gone.
 */
export async function setUploadTail(
  database: Database,
  uploadId: number,
  objectId: number | null,
): Promise<boolean> {
  const rows = await database.run((sql) =>
    sql`UPDATE uploads SET tail_object_id = ${objectId}, written_at = now()
        WHERE id = ${uploadId} RETURNING id`
  );
  return rows.length === 1;
}

/** Marks the upload written to now (a resumed upload is as fresh as one just written). */
export async function touchUpload(database: Database, uploadId: number): Promise<void> {
  await database.run((sql) => sql`UPDATE uploads SET written_at = now() WHERE id = ${uploadId}`);
}

/** One upload as the partial listing shows it. */
export interface UploadSummary {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  /** Bytes of its completed parts and its tail. */
  received: number;
  writtenMs: number;
  key: string;
  storeUploadId: string;
}

/**
 * Every upload of `user` at or below `under` (with `olderThanMs`, only those
 * not written to for that long, by the database's clock), most recently
 * written first.
 */
export function uploadSummaries(
  database: Database,
  user: string,
  under: string,
  olderThanMs?: number,
): Promise<UploadSummary[]> {
  const age = olderThanMs ?? null;
  const [start, end] = under === "/" ? ["/", "0"] : [`${under}/`, `${under}0`];
  return database.transaction(async (sql) => {
    const rows = await sql<
      {
        id: number;
        path: string;
        size: number;
        mtime_ms: number;
        received: number;
        written_at: Date;
        key: string;
        store_upload_id: string;
      }[]
    >`
      SELECT u.id, u.path, u.size, u.mtime_ms, u.written_at, o.key, u.store_upload_id,
        (SELECT coalesce(sum(p.size), 0) FROM upload_parts p WHERE p.upload_id = u.id)
        + coalesce((SELECT t.size FROM objects t WHERE t.id = u.tail_object_id), 0) AS received
      FROM uploads u JOIN objects o ON o.id = u.object_id
      WHERE u.user_name = ${user} AND (u.path = ${under} OR (u.path >= ${start} AND u.path < ${end}))
        AND (${age}::bigint IS NULL OR u.written_at < now() - ${age}::bigint * interval '1 millisecond')
      ORDER BY u.written_at DESC, u.id DESC`;
    return rows.map((row) => ({
      id: row.id,
      path: row.path,
      size: row.size,
      mtimeMs: row.mtime_ms,
      received: Number(row.received),
      writtenMs: row.written_at.getTime(),
      key: row.key,
      storeUploadId: row.store_upload_id,
    }));
  }, { isolation: "snapshot" });
}
