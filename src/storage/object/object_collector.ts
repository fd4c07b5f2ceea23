/**
 * The collector of the object-store backend: deletes the objects no name,
 * upload or upload tail refers to once they are older than a grace period
 * (so a file being placed, whose object is stored just before its name,
 * is never taken), and aborts the store's multipart uploads that no record
 * knows of (a node that crashed between starting one and recording it).
 * Objects are claimed in the database first, deleted from the store, then
 * forgotten, so a crash between the steps leaves them claimed for the next
 * pass, and a name never points to a deleted object.
 *
 * Several nodes may collect at once: each claims different objects.
 *
 * @module
 */

import { claimGarbage, forgetObjects } from "../../database/object_records.ts";
import type { ObjectBackend } from "./object_backend.ts";

/** Options of {@link collectGarbage}. */
export interface CollectOptions {
  /** Objects younger than this are left, whatever refers to them, ms. */
  graceMs: number;
  /** Objects claimed per batch. Default 1,000. */
  batch?: number;
  /** Batches per pass at most (the rest waits for the next pass). Default 100. */
  maxBatches?: number;
}

/** What one pass removed. */
export interface Collected {
  /** Objects deleted from the store and forgotten. */
  objects: number;
  /** Unrecorded multipart uploads aborted. */
  uploads: number;
}

/** The prefix of every key the backend makes (object_backend.ts). */
const OBJECT_PREFIX = "objects/";

/** One pass of the collector. A failure of the store or the database ends it (thrown). */
export async function collectGarbage(
  backend: ObjectBackend,
  options: CollectOptions,
): Promise<Collected> {
  const collected: Collected = { objects: 0, uploads: 0 };
  const batch = options.batch ?? 1000;
  for (let round = 0; round < (options.maxBatches ?? 100); round++) {
    const claimed = await claimGarbage(backend.database, options.graceMs, batch);
    if (claimed.length === 0) break;
    await backend.store.deleteMany(claimed.map((object) => object.key));
    collected.objects += await forgetObjects(backend.database, claimed.map((object) => object.id));
    if (claimed.length < batch) break;
  }
  collected.uploads = await abortUnrecordedUploads(backend, options);
  return collected;
}

/** Aborts the store's multipart uploads older than the grace period that no record names. */
async function abortUnrecordedUploads(
  backend: ObjectBackend,
  options: CollectOptions,
): Promise<number> {
  const before = Date.now() - options.graceMs;
  let aborted = 0;
  let after: string | undefined;
  for (let page = 0; page < (options.maxBatches ?? 100); page++) {
    const listed = await backend.store.listMultipartUploads(OBJECT_PREFIX, { after });
    const old = listed.entries.filter((upload) => upload.initiatedMs < before);
    const ids = old.map((upload) => upload.uploadId);
    const recorded = ids.length === 0
      ? []
      : await backend.database.run((sql) =>
        sql<{ store_upload_id: string }[]>`
        SELECT store_upload_id FROM uploads WHERE store_upload_id = ANY(${sql.array(ids)})`
      );
    const known = new Set(recorded.map((row) => row.store_upload_id));
    for (const upload of old) {
      if (known.has(upload.uploadId)) continue;
      await backend.store.abortMultipartUpload(upload.key, upload.uploadId);
      aborted++;
    }
    after = listed.next;
    if (after === undefined) break;
  }
  return aborted;
}
