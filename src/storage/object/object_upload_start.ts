/**
 * How an upload on the object-store backend starts: it resumes the recorded
 * multipart upload of the same (path, size, mtime), whichever node began it,
 * from its completed parts and its tail (the bytes of the part it was in the
 * middle of, kept when it stopped), or begins a new one. Parts recorded
 * after a gap (a later part stored before an earlier one failed) are sent
 * again; an upload whose records do not add up (a part of the wrong size)
 * starts over.
 *
 * @module
 */

import { STATUS } from "../../protocol/status.ts";
import type { UploadPart, UploadRecord, UploadRecords } from "../../database/upload_records.ts";
import { StorageError } from "../storage.ts";
import { newObjectKey, PART_SIZE } from "./object_backend.ts";
import { toStorageFailure } from "./object_failures.ts";
import { touchUpload, uploadTail } from "./object_queries.ts";
import type { UserObjects } from "./object_whole_file.ts";

/** What an upload is for. */
export interface UploadTarget {
  path: string;
  size: number;
  mtimeMs: number;
}

/** An upload ready to receive bytes: its record, completed parts and tail. */
export interface StartedUpload {
  record: UploadRecord;
  parts: UploadPart[];
  /** The bytes after the last part, read back from the tail; empty if none. */
  tail: Uint8Array;
  /** Whether the record names a tail (to drop once its bytes are in a part). */
  hasTail: boolean;
}

/** Resumes the recorded upload of `target` (unless `resume` is false) or begins one. */
export async function startUpload(
  objects: UserObjects,
  records: UploadRecords,
  target: UploadTarget,
  resume: boolean,
): Promise<StartedUpload> {
  let record = await records.find(target.path, target.size, target.mtimeMs);
  let parts = record === undefined ? undefined : partsBeforeGap(record, target.size);
  if (record !== undefined && (!resume || parts === undefined)) {
    await discardUpload(objects, records, record);
    record = undefined;
  }
  if (record === undefined) {
    record = await beginUpload(objects, records, target);
    parts = partsBeforeGap(record, target.size);
  }
  await touchUpload(objects.backend.database, record.id);
  const kept = parts ?? [];
  const completed = kept.reduce((sum, part) => sum + part.size, 0);
  const [hasTail, tail] = await readTail(objects, record, target.size - completed);
  return { record, parts: kept, tail, hasTail };
}

/** A new multipart upload, recorded; another node's record of the same upload is resumed instead. */
async function beginUpload(
  objects: UserObjects,
  records: UploadRecords,
  target: UploadTarget,
): Promise<UploadRecord> {
  const { store } = objects.backend;
  const objectKey = newObjectKey();
  let storeUploadId: string;
  try {
    storeUploadId = await store.createMultipartUpload(objectKey);
  } catch (error) {
    throw toStorageFailure(error, target.path);
  }
  try {
    return await records.begin({ ...target, objectKey, storeUploadId });
  } catch (error) {
    await store.abortMultipartUpload(objectKey, storeUploadId).catch(() => {});
    if (!(error instanceof StorageError) || error.code !== STATUS.EXISTS) throw error;
    const other = await records.find(target.path, target.size, target.mtimeMs);
    if (other === undefined) throw error;
    return other;
  }
}

/**
 * The recorded parts 1..n up to the first gap, each a whole part but one
 * that ends the file; undefined if a part does not fit (start over).
 */
function partsBeforeGap(record: UploadRecord, size: number): UploadPart[] | undefined {
  const kept: UploadPart[] = [];
  let total = 0;
  for (const part of record.parts) { // By number.
    if (part.number !== kept.length + 1) break;
    total += part.size;
    if (total > size || (part.size !== PART_SIZE && total !== size)) return undefined;
    kept.push(part);
  }
  return kept;
}

/**
 * Whether the record names a tail, and its bytes if it fits (else none:
 * they are sent again).
 */
async function readTail(
  objects: UserObjects,
  record: UploadRecord,
  room: number,
): Promise<[boolean, Uint8Array]> {
  const none = new Uint8Array(0);
  const tail = await uploadTail(objects.backend.database, record.id);
  if (tail === undefined) return [false, none];
  if (tail.size > Math.min(room, PART_SIZE)) return [true, none];
  try {
    const { body } = await objects.backend.store.read(tail.key);
    const bytes = new Uint8Array(tail.size);
    let filled = 0;
    for await (const chunk of body) {
      if (filled + chunk.length > bytes.length) return [true, none];
      bytes.set(chunk, filled);
      filled += chunk.length;
    }
    return [true, filled === bytes.length ? bytes : none];
  } catch {
    return [true, none]; // Unreadable: its bytes are sent again.
  }
}

/**
 * Ends an upload for good: its record goes first (its object and tail are
 * then the collector's), then its multipart upload in the store (one the
 * store could not be told of is found unrecorded and aborted by the collector).
 */
export async function discardUpload(
  objects: UserObjects,
  records: UploadRecords,
  record: Pick<UploadRecord, "id" | "objectKey" | "storeUploadId">,
): Promise<boolean> {
  const discarded = await records.discard(record.id);
  await objects.backend.store.abortMultipartUpload(record.objectKey, record.storeUploadId)
    .catch(() => {});
  return discarded !== undefined;
}
