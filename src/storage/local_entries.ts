/**
 * What the local backend says of an entry: its kind and {@link EntryInfo}
 * from a `Deno.FileInfo`, its canonical path from where the walk found it,
 * and the checks every backend makes of a file and of upload options.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { notFound } from "./confinement_errors.ts";
import type { Located } from "./root_confinement.ts";
import { type EntryInfo, type EntryKind, StorageError, type UploadOptions } from "./storage.ts";

/** The canonical path of what `located` names: its parent's names below the root, then its own. */
export function canonicalOf(located: Located): string {
  const names = located.name === "" ? located.components : [...located.components, located.name];
  return `/${names.join("/")}`;
}

/** The kind of entry `info` describes (a symlink as a link). */
export function kindOf(info: Deno.FileInfo): EntryKind {
  if (info.isFile) return "file";
  if (info.isDirectory) return "directory";
  if (info.isSymlink) return "symlink";
  return "other";
}

/** `info` as the protocol describes an entry named `name`. */
export function toEntryInfo(name: string, info: Deno.FileInfo): EntryInfo {
  const kind = kindOf(info);
  return {
    name,
    kind,
    size: kind === "file" ? info.size : 0,
    mtimeMs: info.mtime?.getTime() ?? 0,
    mode: (info.mode ?? 0) & 0o777,
  };
}

/** NOT_FOUND, IS_A_DIRECTORY or PERMISSION_DENIED unless `info` is a regular file. */
export function requireRegularFile(virtual: string, info: Deno.FileInfo | null): void {
  if (info === null) throw notFound(virtual);
  if (info.isDirectory) {
    throw new StorageError(STATUS.IS_A_DIRECTORY, `${virtual}: is a directory`);
  }
  if (!info.isFile) {
    throw new StorageError(STATUS.PERMISSION_DENIED, `${virtual}: not a regular file`);
  }
}

/** BAD_REQUEST unless the size and mtime of an upload are non-negative integers. */
export function validateUploadOptions(path: string, options: UploadOptions): void {
  for (const [field, value] of [["size", options.size], ["mtimeMs", options.mtimeMs]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${path}: ${field} must be a non-negative integer, not ${value}`,
      );
    }
  }
}
