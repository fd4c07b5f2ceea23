/**
 * Putting a file whose bytes are all at hand under its name on the
 * object-store backend (writeFile, and an upload small enough to fit in one
 * part): one PUT of a new immutable object, or none at all when the user
 * already has a stored object of that content, which the name then shares.
 *
 * The order keeps the invariant: the object is recorded `pending` before its
 * bytes go to the store, `stored` once they are there, and only then named.
 * A failure at any step leaves at most an unnamed object, for the collector.
 *
 * @module
 */

import { STATUS } from "../../protocol/status.ts";
import type { MetadataEntry, ObjectMetadata } from "../../database/object_metadata.ts";
import { type EntryInfo, type PlacedFile, type PlacementGuard, StorageError } from "../storage.ts";
import { newObjectKey, type ObjectBackend } from "./object_backend.ts";
import { toStorageFailure } from "./object_failures.ts";
import { storedObjectOf } from "./object_queries.ts";

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
 * `overwrite`. The placement checks again, in its transaction.
 */
export async function checkFileTarget(
  metadata: ObjectMetadata,
  path: string,
  overwrite: boolean,
): Promise<void> {
  if (path === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  const folder = await metadata.stat(parent).catch((error) => {
    if (error instanceof StorageError && error.code === STATUS.NOT_FOUND) {
      throw new StorageError(STATUS.NOT_FOUND, `${path}: the folder ${parent} does not exist`);
    }
    throw error;
  });
  if (folder.kind !== "directory") {
    throw new StorageError(STATUS.NOT_A_DIRECTORY, `${path}: ${parent} is not a directory`);
  }
  const existing = await metadata.stat(path).catch(() => undefined);
  if (existing?.kind === "directory") {
    throw new StorageError(STATUS.IS_A_DIRECTORY, `${path}: is a directory`);
  }
  if (existing !== undefined && !overwrite) {
    throw new StorageError(STATUS.EXISTS, `${path}: already exists`);
  }
}

/** Stores `content` as a new object (pending, put, stored); resolves to its id. */
export async function storeNewObject(
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
  await objects.metadata.markStored(id, sha256);
  return id;
}

/** Puts the file under its name through the guard; resolves to its entry as placed. */
export async function placeWholeFile(
  objects: UserObjects,
  placement: WholeFilePlacement,
): Promise<EntryInfo> {
  const { path, content, sha256 } = placement;
  let reused = await storedObjectOf(objects.backend.database, objects.user, sha256, content.length);
  let objectId = reused ?? await storeNewObject(objects, path, content, sha256);
  const place = async (): Promise<PlacedFile> => {
    const options = { mtimeMs: placement.mtimeMs, overwrite: placement.overwrite };
    let placed;
    try {
      placed = await objects.metadata.placeFile(path, { ...options, objectId });
    } catch (error) {
      // The object found was claimed by the collector meanwhile: store the bytes after all.
      if (reused === undefined || !isNotStored(error)) throw error;
      reused = undefined;
      objectId = await storeNewObject(objects, path, content, sha256);
      placed = await objects.metadata.placeFile(path, { ...options, objectId });
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
