/**
 * Multipart uploads in progress on the object store, recorded as their parts
 * complete, so that an upload interrupted on one node resumes on any node
 * from its last completed part. An upload's object is recorded `pending` when
 * the upload begins (so the collector knows of it, and leaves it while the
 * upload exists); completing the upload makes it `stored` and puts the file
 * under its name in one transaction.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { StorageError } from "../storage/storage.ts";
import type { Database, TransactionSql } from "./database.ts";
import { checkPath, checkText, checkWhole } from "./metadata_paths.ts";
import type { MetadataEntry, ObjectMetadata } from "./object_metadata.ts";
import { type PlacedObject, recordPendingObject } from "./object_records.ts";

/** S3's limits: parts are numbered 1 to 10,000; upload ids and ETags are bounded here. */
const MAX_PART_NUMBER = 10_000;
const MAX_STORE_ID_BYTES = 1024;

/** What a new multipart upload is for. */
export interface NewUpload {
  path: string;
  size: number;
  mtimeMs: number;
  /** The object's key in the store. */
  objectKey: string;
  /** The store's id for the multipart upload. */
  storeUploadId: string;
}

/** A completed part, as the store confirmed it. */
export interface UploadPart {
  number: number;
  size: number;
  etag: string;
}

/** An upload in progress. */
export interface UploadRecord extends NewUpload {
  id: number;
  user: string;
  objectId: number;
  startedMs: number;
  writtenMs: number;
  /** Completed parts, by number. */
  parts: UploadPart[];
}

/** One user's multipart uploads. */
export class UploadRecords {
  readonly #database: Database;
  readonly #metadata: ObjectMetadata;

  constructor(database: Database, metadata: ObjectMetadata) {
    this.#database = database;
    this.#metadata = metadata;
  }

  /** Records a new upload and its pending object. EXISTS if one for (path, size, mtime) exists. */
  async begin(upload: NewUpload): Promise<UploadRecord> {
    checkPath(upload.path);
    checkWhole(upload.size, "an upload's size");
    checkWhole(upload.mtimeMs, "a modification time");
    checkText(upload.storeUploadId, "a store upload id", MAX_STORE_ID_BYTES);
    const user = this.#metadata.user;
    return await this.#database.transaction(async (sql) => {
      const objectId = await recordPendingObject(sql, user, {
        key: upload.objectKey,
        size: upload.size,
      });
      const rows = await sql<UploadRow[]>`
        INSERT INTO uploads (user_name, path, size, mtime_ms, object_id, store_upload_id)
        VALUES (${user}, ${upload.path}, ${upload.size}, ${upload.mtimeMs}, ${objectId},
                ${upload.storeUploadId})
        ON CONFLICT DO NOTHING RETURNING *, ${upload.objectKey}::text AS object_key`;
      if (rows.length === 0) {
        throw new StorageError(STATUS.EXISTS, `${upload.path}: an upload of it is in progress`);
      }
      return recordOf(rows[0], []);
    });
  }

  /** The upload of `path` with that size and time, with its parts, to resume; undefined if none. */
  async find(path: string, size: number, mtimeMs: number): Promise<UploadRecord | undefined> {
    checkPath(path);
    return await this.#database.transaction(async (sql) => {
      const [row] = await sql<UploadRow[]>`${selectUploads(sql)}
        WHERE u.user_name = ${this.#metadata.user} AND u.path = ${path}
          AND u.size = ${size} AND u.mtime_ms = ${mtimeMs}`;
      return row === undefined ? undefined : recordOf(row, await partsOf(sql, row.id));
    }, { isolation: "snapshot" });
  }

  /** Every upload of the user, most recently written first. */
  list(): Promise<UploadRecord[]> {
    return this.#database.transaction(async (sql) => {
      const rows = await sql<UploadRow[]>`${selectUploads(sql)}
        WHERE u.user_name = ${this.#metadata.user} ORDER BY u.written_at DESC, u.id DESC`;
      return await Promise.all(rows.map(async (row) => recordOf(row, await partsOf(sql, row.id))));
    }, { isolation: "snapshot" });
  }

  /** Records a part the store confirmed (again: the later confirmation wins). */
  async recordPart(uploadId: number, part: UploadPart): Promise<void> {
    checkWhole(part.number, "a part number", 1);
    if (part.number > MAX_PART_NUMBER) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `a part number must be at most ${MAX_PART_NUMBER}`,
      );
    }
    checkWhole(part.size, "a part's size");
    checkText(part.etag, "an ETag", MAX_STORE_ID_BYTES);
    return await this.#database.transaction(async (sql) => {
      const rows = await sql`UPDATE uploads SET written_at = now()
        WHERE id = ${uploadId} AND user_name = ${this.#metadata.user} RETURNING id`;
      if (rows.length === 0) throw new StorageError(STATUS.NOT_FOUND, "the upload is gone");
      await sql`INSERT INTO upload_parts (upload_id, number, size, etag)
        VALUES (${uploadId}, ${part.number}, ${part.size}, ${part.etag})
        ON CONFLICT (upload_id, number) DO UPDATE SET size = excluded.size, etag = excluded.etag`;
    });
  }

  /**
   * Ends the upload: its object becomes `stored` with `sha256` and the file
   * is placed under its name, in one transaction; the upload's record goes.
   * BAD_REQUEST when the parts do not add up to the announced size.
   */
  complete(
    uploadId: number,
    sha256: string,
    options: { overwrite?: boolean } = {},
  ): Promise<PlacedObject & { entry: MetadataEntry }> {
    const user = this.#metadata.user;
    return this.#database.transaction(async (sql) => {
      const [row] = await sql<UploadRow[]>`${selectUploads(sql)}
        WHERE u.id = ${uploadId} AND u.user_name = ${user} FOR UPDATE OF u`;
      if (row === undefined) throw new StorageError(STATUS.NOT_FOUND, "the upload is gone");
      const received = (await partsOf(sql, uploadId)).reduce((sum, part) => sum + part.size, 0);
      if (received !== row.size) {
        throw new StorageError(
          STATUS.BAD_REQUEST,
          `${row.path}: ${received} of ${row.size} bytes uploaded; the upload is not complete`,
        );
      }
      await sql`DELETE FROM uploads WHERE id = ${uploadId}`;
      return await this.#metadata.placeFileIn(sql, row.path, {
        objectId: row.object_id,
        mtimeMs: row.mtime_ms,
        overwrite: options.overwrite,
        markStored: sha256,
      });
    });
  }

  /** Forgets an upload (aborted); its object is left to the collector. Resolves to it, if it was. */
  discard(uploadId: number): Promise<UploadRecord | undefined> {
    return this.#database.transaction(async (sql) => {
      const [row] = await sql<UploadRow[]>`${selectUploads(sql)}
        WHERE u.id = ${uploadId} AND u.user_name = ${this.#metadata.user} FOR UPDATE OF u`;
      if (row === undefined) return undefined;
      const parts = await partsOf(sql, uploadId);
      await sql`DELETE FROM uploads WHERE id = ${uploadId}`;
      return recordOf(row, parts);
    });
  }
}

/** Every user's uploads not written to for longer than `maxAgeMs` (to abort), oldest first. */
export function staleUploads(database: Database, maxAgeMs: number, limit = 1000) {
  return database.transaction(async (sql) => {
    const rows = await sql<UploadRow[]>`${selectUploads(sql)}
      WHERE u.written_at < now() - ${maxAgeMs} * interval '1 millisecond'
      ORDER BY u.written_at LIMIT ${limit}`;
    return rows.map((row) => recordOf(row, []));
  }, { isolation: "snapshot" });
}

interface UploadRow {
  id: number;
  user_name: string;
  path: string;
  size: number;
  mtime_ms: number;
  object_id: number;
  object_key: string;
  store_upload_id: string;
  started_at: Date;
  written_at: Date;
}

function selectUploads(sql: TransactionSql) {
  return sql`SELECT u.*, o.key AS object_key FROM uploads u JOIN objects o ON o.id = u.object_id`;
}

async function partsOf(sql: TransactionSql, uploadId: number): Promise<UploadPart[]> {
  return [
    ...await sql<UploadPart[]>`SELECT number, size, etag FROM upload_parts
                               WHERE upload_id = ${uploadId} ORDER BY number`,
  ];
}

function recordOf(row: UploadRow, parts: UploadPart[]): UploadRecord {
  return {
    id: row.id,
    user: row.user_name,
    path: row.path,
    size: row.size,
    mtimeMs: row.mtime_ms,
    objectId: row.object_id,
    objectKey: row.object_key,
    storeUploadId: row.store_upload_id,
    startedMs: row.started_at.getTime(),
    writtenMs: row.written_at.getTime(),
    parts,
  };
}
