/**
 * Where a download lands: the checks made before it starts (a folder in
 * the way, a file that exists without -f, a missing folder said of the
 * folder) and the mode the finished file gets.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { LocalError, LocalTargetExists } from "./errors.ts";
import { newFileMode, PERMISSION_BITS } from "./local_mode.ts";

/**
 * A download's target folder that is missing or not a folder, said of that
 * folder (not of the hidden `.NAME.dfos-part` file); undefined for other errors.
 */
export function folderError(error: unknown, localPath: string): LocalError | undefined {
  const folder = dirname(localPath);
  if (error instanceof Deno.errors.NotFound) {
    return new LocalError(`${folder}: no such local directory`);
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return new LocalError(`${folder}: not a local directory`);
  }
  return undefined;
}

/** Refuses a target that is a folder, or one that exists without `force`; returns what it replaces. */
export function refuseExisting(localPath: string, force: boolean): Deno.FileInfo | undefined {
  // Nothing there (or a link leading nowhere, replaced like a missing name), the usual case:
  // asking is much cheaper than a failed stat. A missing folder is said when the download opens.
  if (!existsSync(localPath)) return undefined;
  try {
    const info = Deno.statSync(localPath);
    if (info.isDirectory) throw new LocalError(`${localPath}: is a directory`);
    if (!force) throw new LocalTargetExists(localPath);
    return info;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw folderError(error, localPath) ?? error;
  }
}

/**
 * The mode a finished download gets: `mode` if given (the source's),
 * else that of the file it replaces (as cp keeps it), else a new file's.
 */
export function finalMode(
  mode: number | undefined,
  replaced: Deno.FileInfo | undefined,
  localPath: string,
): number {
  if (mode !== undefined) return mode & PERMISSION_BITS;
  if (replaced?.mode != null) return replaced.mode & PERMISSION_BITS;
  return newFileMode(dirname(localPath));
}
