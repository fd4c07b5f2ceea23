/**
 * Files in the server's private folder (`.dfos/partial`): created by calls
 * that take the folder's descriptor path as given (never by a path that
 * could be swapped), then opened by path, as every Deno open is, and kept
 * only if the open folder holds that very file under the name. An open sent
 * elsewhere by a swapped `.dfos` is caught before a byte is read or written,
 * and it cannot create anything: opens here never create.
 *
 * @module
 */

import { basename } from "node:path";
import { TreeChanged } from "./confinement_errors.ts";
import { readSync } from "node:fs";
import { syncData } from "../shared/data_sync.ts";
import { writeAllSync } from "../shared/write_all_sync.ts";
import { closeFd, openFileFd, sameEntry, statFd } from "./descriptor_paths.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";

/**
 * Opens `name` in the private folder by path for reading and writing (never
 * blocks, even on a FIFO), and keeps it only if it is the file the open folder
 * holds under that name.
 */
export function openPrivateFile(folder: PinnedDirectory, name: string): Deno.FsFile {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(`${folder.realPath}/${name}`, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new TreeChanged();
    throw error;
  }
  try {
    const opened = file.statSync();
    const now = folder.lstat(name);
    if (opened.isFile && now !== null && sameEntry(opened, now)) return file;
    throw new TreeChanged();
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Up to `maxBytes` of the file `name` in the private folder, opened read-only
 * and without blocking (a FIFO swapped in cannot hold the server), and read
 * only if it is the file the open folder holds under that name; null if it
 * is longer, is not that regular file, or cannot be read.
 */
export function readPrivateFile(
  folder: PinnedDirectory,
  name: string,
  maxBytes: number,
): Uint8Array | null {
  let fd: number;
  try {
    fd = openFileFd(`${folder.realPath}/${name}`);
  } catch {
    return null;
  }
  try {
    const opened = statFd(fd);
    const now = folder.lstat(name);
    if (!opened.isFile || now === null || !sameEntry(opened, now)) return null;
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    for (let count = -1; count !== 0 && length <= maxBytes;) {
      count = readSync(fd, buffer, length, buffer.length - length, null);
      length += count;
    }
    return length > maxBytes ? null : buffer.subarray(0, length);
  } catch {
    return null;
  } finally {
    closeFd(fd);
  }
}

/** A new empty file (mode 0o600) with a random name in the private folder, open. */
export function createPrivateFile(folder: PinnedDirectory): { name: string; file: Deno.FsFile } {
  const name = basename(Deno.makeTempFileSync({ dir: folder.path, prefix: "whole-" }));
  try {
    return { name, file: openPrivateFile(folder, name) };
  } catch (error) {
    removeQuietly(folder.entry(name));
    throw error;
  }
}

/** Creates the empty file `name` in the private folder unless it exists (made under a random name, then linked). */
export function createNamedPrivateFile(folder: PinnedDirectory, name: string): void {
  const fresh = Deno.makeTempFileSync({ dir: folder.path, prefix: "new-" });
  try {
    Deno.linkSync(fresh, folder.entry(name));
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    if (!linkUnsupported(error)) throw error;
    Deno.renameSync(fresh, folder.entry(name));
  } finally {
    removeQuietly(fresh);
  }
}

/**
 * Puts `content` under `name` in the private folder in one step: written to
 * a fresh file, then renamed over the name, so a reader sees the old
 * content or the new.
 */
export function replacePrivateFile(
  folder: PinnedDirectory,
  name: string,
  content: Uint8Array,
): void {
  const fresh = createPrivateFile(folder);
  try {
    try {
      writeAllSync(fresh.file, content);
    } finally {
      fresh.file.close();
    }
    Deno.renameSync(folder.entry(fresh.name), folder.entry(name));
  } catch (error) {
    removeQuietly(folder.entry(fresh.name));
    throw error;
  }
}

/**
 * Writes all of `content` to `file`, sets its mtime, syncs it if `fsync`,
 * and closes it; resolves to what the file then is.
 */
export async function writeAndClose(
  file: Deno.FsFile,
  content: Uint8Array,
  mtimeMs: number,
  fsync: boolean,
): Promise<Deno.FileInfo> {
  try {
    writeAllSync(file, content);
    file.utimeSync(new Date(), new Date(mtimeMs));
    const written = file.statSync();
    if (fsync) await syncData(file, written.dev);
    return written;
  } finally {
    file.close();
  }
}

/** Whether a failed `link` means the filesystem has no hard links (so rename instead). */
export function linkUnsupported(error: unknown): boolean {
  if (error instanceof Deno.errors.PermissionDenied) return true;
  const code = (error as { code?: string }).code;
  return code === "ENOTSUP" || code === "EOPNOTSUPP";
}

/** Removes `path` (a name in an open folder); false if it was not there. */
export function removeQuietly(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch {
    return false;
  }
}
