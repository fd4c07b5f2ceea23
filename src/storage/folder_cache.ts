/**
 * Folders kept open between requests, so a walk re-checks a folder it has
 * seen with one `lstat` instead of opening it again: a request costs a few
 * microseconds per name instead of tens. An entry is only a candidate:
 * the walk takes it only if the name, looked up in the open parent, still
 * leads to the cached folder's inode (which cannot be reused while it is
 * open), exactly the check it makes after opening one itself.
 *
 * One cache for the process, bounded: at most {@link MAX_CACHED_FOLDERS}
 * descriptors, the least recently used closed first (a folder still in use
 * by a walk closes when that walk lets go of it).
 *
 * @module
 */

import type { PinnedDirectory } from "./pinned_directory.ts";

/** Folders kept open at most, across all users. */
export const MAX_CACHED_FOLDERS = 64;

/** Key → folder, least recently used first (a Map keeps insertion order). */
const folders = new Map<string, PinnedDirectory>();

/**
 * The folder cached under `key`, retained for the caller (who closes it),
 * or null. Marks it as recently used.
 */
export function cachedFolder(key: string): PinnedDirectory | null {
  const folder = folders.get(key);
  if (folder === undefined) return null;
  folders.delete(key);
  folders.set(key, folder);
  return folder.retain();
}

/** Keeps `folder` under `key` (retaining it), replacing and closing any older one. */
export function cacheFolder(key: string, folder: PinnedDirectory): void {
  forgetFolder(key);
  folders.set(key, folder.retain());
  for (const [oldest, evicted] of folders) {
    if (folders.size <= MAX_CACHED_FOLDERS) break;
    folders.delete(oldest);
    evicted.close();
  }
}

/** Drops the folder cached under `key`, if any. */
export function forgetFolder(key: string): void {
  const folder = folders.get(key);
  if (folder === undefined) return;
  folders.delete(key);
  folder.close();
}

/** Closes every cached folder (each closes once no walk holds it); for tests and shutdown. */
export function clearFolderCache(): void {
  for (const key of [...folders.keys()]) forgetFolder(key);
}

/** The folder cached under `key`, for a look at its identity only (not retained), or null. */
export function peekFolder(key: string): PinnedDirectory | null {
  return folders.get(key) ?? null;
}
