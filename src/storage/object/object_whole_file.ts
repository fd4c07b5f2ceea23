/**
 * Putting a file whose bytes are all at hand under its name on the
 * object-store backend (writeFile, and an upload small enough to fit in one
 * part): one PUT of a new immutable object, or none at all when the user
 * already has a stored object of that content, which the name then shares.
 *
 * The order keeps the invariant: the object is recorded `pending` before its
 * bytes go to the store (one statement), then marked `stored` and named in
 * one transaction once they are there: a small file costs three queries
 * (its target, a stored copy, the pending record), that transaction and one PUT.
 * A failure at any step leaves at most an unnamed object, for the collector.
 *
 * @module
 */

import { STATUS } from "../../protocol/status.ts";
import type { MetadataEntry, ObjectMetadata } from "../../database/object_metadata.ts";
import { checkPath } from "../../database/metadata_paths.ts";
import { type EntryInfo, type PlacedFile, type PlacementGuard, StorageError } from "../storage.ts";
import { newObjectKey, type ObjectBackend } from "./object_backend.ts";
import { toStorageFailure } from "./object_failures.ts";
import { entryKinds, storedObjectOf } from "./object_queries.ts";

/** One user's side of the backend: what placing a file needs. */
export interface UserObjects {
  user: string;
  backend: ObjectBackend;
  metadata: ObjectMetadata;
}

/** What to place, and how. */
export interface WholeFilePlacement {
  path: string;
  content: Uint8Array;
  /** Lowercase hex: already checked against `content`. */
  sha256: string;
  mtimeMs: number;
  overwrite: boolean;
  guard: PlacementGuard;
}

/** The storage's view of an entry of the metadata store. */
export function entryInfoOf(entry: MetadataEntry): EntryInfo {
  return { name: entry.name, kind: entry.kind, size: entry.size, mtimeMs: entry.mtimeMs };
}

/**
 * Refuses, before anything is stored, a target that cannot take a file:
 * a missing or non-folder parent, a folder, or an existing file without
 * `overwrite` (the parent and the target in one query). The placement
 * checks again, in its transaction.
 */
export async function checkFileTarget(
  objects: UserObjects,
  path: string,
  overwrite: boolean,
): Promise<void> {
  if (path === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
  checkPath(path);
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  const kinds = await entryKinds(objects.backend.database, objects.user, [parent, path]);
  const folder = kinds.get(parent);
  if (folder === undefined) {
    throw new StorageError(STATUS.NOT_FOUND, `${path}: the folder ${parent} does not exist`);
  }
  if (folder !== "directory") {
    throw new StorageError(STATUS.NOT_A_DIRECTORY, `${path}: ${parent} is not a directory`);
  }
  const existing = kinds.get(path);
  if (existing === "directory") {
    throw new StorageError(STATUS.IS_A_DIRECTORY, `${path}: is a directory`);
  }
  if (existing !== undefined && !overwrite) {
    throw new StorageError(STATUS.EXISTS, `${path}: already exists`);
  }
}

/**
 * Records `content` as a new `pending` object and puts its bytes in the
 * store; resolves to its id. It is not `stored` yet: name it with
 * `markStored` (placeFile), or use {@link storeNewObject}.
 */
async function putNewObject(
  objects: UserObjects,
  path: string,
  content: Uint8Array,
  sha256: string,
): Promise<number> {
  const key = newObjectKey();
  const id = await objects.metadata.recordObject({ key, size: content.length, sha256 });
  try {
    await objects.backend.store.put(key, content);
  } catch (error) {
    throw toStorageFailure(error, path);
  }
  return id;
}

/** Stores `content` as a new object (pending, put, stored); resolves to its id. */
export async function storeNewObject(
  objects: UserObjects,
  path: string,
  content: Uint8Array,
  sha256: string,
): Promise<number> {
  const id = await putNewObject(objects, path, content, sha256);
  await objects.metadata.markStored(id, sha256);
  return id;
}

/**
 * Puts the file under its name through the guard; resolves to its entry as
 * placed. A new object is marked stored in the transaction that names it.
 */
export async function placeWholeFile(
  objects: UserObjects,
  placement: WholeFilePlacement,
): Promise<EntryInfo> {
  const { path, content, sha256 } = placement;
  let reused = await storedObjectOf(objects.backend.database, objects.user, sha256, content.length);
  let objectId = reused ?? await putNewObject(objects, path, content, sha256);
  const place = async (): Promise<PlacedFile> => {
    const options = { mtimeMs: placement.mtimeMs, overwrite: placement.overwrite };
    const name = () =>
      objects.metadata.placeFile(path, {
        ...options,
        objectId,
        markStored: reused === undefined ? sha256 : undefined,
      });
    let placed;
    try {
      placed = await name();
    } catch (error) {
      // The object found was claimed by the collector meanwhile: store the bytes after all.
      if (reused === undefined || !isNotStored(error)) throw error;
      reused = undefined;
      objectId = await putNewObject(objects, path, content, sha256);
      placed = await name();
    }
    objects.backend.ledger(objects.user).note("put", path);
    return { path, entry: entryInfoOf(placed.entry) };
  };
  return (await placement.guard(place)).entry;
}

/** The metadata store's refusal to name an object that is not (or no longer) stored. */
function isNotStored(error: unknown): boolean {
  return error instanceof StorageError && error.code === STATUS.IO_ERROR &&
    /is not a stored object/.test(error.message);
}
