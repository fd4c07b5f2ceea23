/**
 * Partial uploads on the object-store backend, as the storage contract shows
 * them: every recorded multipart upload of the user, with the bytes of its
 * completed parts and its tail. An upload this process is writing is
 * "active" and never discarded; one written by another node is known only by
 * its records (a discard there stops that node's next part with NOT_FOUND).
 * Discarding drops the record, then aborts the multipart upload; the objects
 * are left to the collector.
 *
 * @module
 */

import { STATUS } from "../../protocol/status.ts";
import type { UploadRecords } from "../../database/upload_records.ts";
import {
  DEFAULT_PARTIALS_LISTED,
  type DiscardResult,
  type PartialInfo,
  type PartialListing,
  type PartialListOptions,
  type PartialSelection,
  StorageError,
} from "../storage.ts";
import { resolveVirtualPath } from "../virtual_path.ts";
import { uploadSummaries, type UploadSummary } from "./object_queries.ts";
import { discardUpload } from "./object_upload_start.ts";
import type { UserObjects } from "./object_whole_file.ts";

/** The user's partial uploads, newest first; totals over all of them. */
export async function listObjectPartials(
  objects: UserObjects,
  options: PartialListOptions = {},
): Promise<PartialListing> {
  const under = resolveVirtualPath("/", options.under ?? "/");
  const limit = options.limit ?? DEFAULT_PARTIALS_LISTED;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`a partial listing limit of ${limit}`);
  }
  const all = await uploadSummaries(objects.backend.database, objects.user, "/");
  const active = (upload: UploadSummary) => objects.backend.uploads.has(upload.id);
  const selected = all.filter((upload) => isAtOrBelow(upload.path, under));
  return {
    partials: selected.slice(0, limit).map((upload) => partialOf(upload, active(upload))),
    more: selected.length > limit,
    count: all.length,
    bytes: all.reduce((sum, upload) => sum + upload.received, 0),
    bytesInProgress: all.filter(active).reduce((sum, upload) => sum + upload.received, 0),
  };
}

/** Removes the partials `selection` names, except those being written here. */
export async function discardObjectPartials(
  objects: UserObjects,
  records: UploadRecords,
  selection: PartialSelection,
): Promise<DiscardResult> {
  const chosen = await select(objects, selection);
  const result: DiscardResult = { count: 0, bytes: 0, busy: 0 };
  for (const upload of chosen) {
    if (objects.backend.uploads.has(upload.id)) {
      result.busy++;
    } else if (await discardUpload(objects, records, recordOf(upload))) {
      result.count++;
      result.bytes += upload.received;
    }
  }
  if (selection.kind !== "all" && result.count === 0) throw nothingFree(selection, chosen.length);
  return result;
}

/** Discards the partials not written to for longer than `maxAgeMs`; resolves to how many. */
export async function cleanupObjectPartials(
  objects: UserObjects,
  records: UploadRecords,
  maxAgeMs: number,
): Promise<number> {
  const uploads = await uploadSummaries(objects.backend.database, objects.user, "/", maxAgeMs);
  let removed = 0;
  for (const upload of uploads) {
    if (objects.backend.uploads.has(upload.id)) continue;
    if (await discardUpload(objects, records, recordOf(upload))) removed++;
  }
  return removed;
}

async function select(objects: UserObjects, selection: PartialSelection): Promise<UploadSummary[]> {
  const { database } = objects.backend;
  if (selection.kind === "id") {
    if (!/^[1-9][0-9]{0,15}$/.test(selection.id)) return [];
    const all = await uploadSummaries(database, objects.user, "/");
    return all.filter((upload) => String(upload.id) === selection.id);
  }
  const path = resolveVirtualPath(
    "/",
    selection.kind === "path" ? selection.path : selection.under,
  );
  const uploads = await uploadSummaries(database, objects.user, path);
  return selection.kind === "path" ? uploads.filter((upload) => upload.path === path) : uploads;
}

function nothingFree(selection: PartialSelection, busy: number): StorageError {
  if (selection.kind === "path") {
    const path = resolveVirtualPath("/", selection.path);
    return busy > 0
      ? new StorageError(STATUS.EXISTS, `${path}: its upload is in progress; stop it first`)
      : new StorageError(STATUS.NOT_FOUND, `${path}: no unfinished upload of this file`);
  }
  const id = JSON.stringify((selection as { id: string }).id.slice(0, 80));
  return busy > 0
    ? new StorageError(STATUS.EXISTS, `the unfinished upload ${id} is being written; stop it first`)
    : new StorageError(STATUS.NOT_FOUND, `no unfinished upload has the id ${id}`);
}

function partialOf(upload: UploadSummary, active: boolean): PartialInfo {
  return {
    id: String(upload.id),
    path: upload.path,
    size: upload.size,
    mtimeMs: upload.mtimeMs,
    received: upload.received,
    writtenMs: upload.writtenMs,
    active,
  };
}

function recordOf(upload: UploadSummary) {
  return { id: upload.id, objectKey: upload.key, storeUploadId: upload.storeUploadId };
}

function isAtOrBelow(path: string, folder: string): boolean {
  return folder === "/" || path === folder || path.startsWith(`${folder}/`);
}
