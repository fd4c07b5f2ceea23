/**
 * How an upload on the object-store backend starts: it resumes the recorded
 * multipart upload of the same (path, size, mtime), whichever node began it,
 * from its completed parts and its tail (the bytes of the part it was in the
 * middle of, kept when it stopped), or begins a new one. An upload whose
 * records do not add up (parts missing or of the wrong size) starts over.
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
  if (record !== undefined && (!resume || !partsAddUp(record, target.size))) {
    await discardUpload(objects, records, record);
    record = undefined;
  }
  record ??= await beginUpload(objects, records, target);
  await touchUpload(objects.backend.database, record.id);
  const completed = record.parts.reduce((sum, part) => sum + part.size, 0);
  const [hasTail, tail] = await readTail(objects, record, target.size - completed);
  return { record, parts: [...record.parts], tail, hasTail };
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

/** Parts 1..n, each but the last a whole part, within the announced size. */
function partsAddUp(record: UploadRecord, size: number): boolean {
  let total = 0;
  for (const [index, part] of record.parts.entries()) {
    if (part.number !== index + 1) return false;
    if (index < record.parts.length - 1 && part.size !== PART_SIZE) return false;
    total += part.size;
  }
  const last = record.parts.at(-1);
  return total <= size && (last === undefined || last.size === PART_SIZE || total === size);
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
