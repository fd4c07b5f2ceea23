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
import { readSync, writeSync } from "node:fs";
import { syncDataFd } from "../shared/data_sync.ts";
import {
  closeFd,
  descriptorPath,
  openFileFd,
  openReadWriteFd,
  sameEntry,
  statFd,
} from "./descriptor_paths.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";

/**
 * Opens `name` in the private folder by path for reading and writing (never
 * blocks, even on a FIFO), and keeps it only if it is the file the open folder
 * holds under that name.
 */
export function openPrivateFile(folder: PinnedDirectory, name: string): Deno.FsFile {
  return openChecked(folder, name, {
    open: (path) => Deno.openSync(path, { read: true, write: true }),
    stat: (file) => file.statSync(),
    close: (file) => file.close(),
  });
}

/** {@link openPrivateFile} by descriptor (`node:fs`): the same checks. */
function openPrivateFd(folder: PinnedDirectory, name: string): number {
  return openChecked(folder, name, { open: openReadWriteFd, stat: statFd, close: closeFd });
}

/**
 * Opens `name` in the private folder by path with `how`, and keeps what it
 * opened only if that is the regular file the open folder holds under the
 * name; otherwise (or if it is gone) {@link TreeChanged}.
 */
function openChecked<T>(
  folder: PinnedDirectory,
  name: string,
  how: { open(path: string): T; stat(opened: T): Deno.FileInfo; close(opened: T): void },
): T {
  let opened: T;
  try {
    opened = how.open(`${folder.realPath}/${name}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new TreeChanged();
    throw error;
  }
  try {
    const info = how.stat(opened);
    const now = folder.lstat(name);
    if (info.isFile && now !== null && sameEntry(info, now)) return opened;
    throw new TreeChanged();
  } catch (error) {
    how.close(opened);
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

/**
 * A new empty file (mode 0o600) with a random name in the private folder,
 * open for reading and writing by descriptor (`node:fs`): a descriptor's
 * `fstat` and `fdatasync` go straight to the kernel, where those of a
 * `Deno.FsFile` first resolve its path again, link by link.
 */
export function createPrivateFile(folder: PinnedDirectory): { name: string; fd: number } {
  const name = basename(Deno.makeTempFileSync({ dir: folder.path, prefix: "whole-" }));
  try {
    return { name, fd: openPrivateFd(folder, name) };
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
      writeAllFd(fresh.fd, content);
    } finally {
      closeFd(fresh.fd);
    }
    Deno.renameSync(folder.entry(fresh.name), folder.entry(name));
  } catch (error) {
    removeQuietly(folder.entry(fresh.name));
    throw error;
  }
}

/**
 * Writes all of `content` to the descriptor `fd` (from
 * {@link createPrivateFile}), sets its mtime, syncs it if `fsync`, and
 * closes it; resolves to what the file then is.
 */
export async function writeAndClose(
  fd: number,
  content: Uint8Array,
  mtimeMs: number,
  fsync: boolean,
): Promise<Deno.FileInfo> {
  try {
    writeAllFd(fd, content);
    // Through the descriptor's path: node's futimes passes seconds as a float and can lose 1 ms.
    Deno.utimeSync(descriptorPath(fd), new Date(), new Date(mtimeMs));
    const written = statFd(fd);
    if (fsync) await syncDataFd(fd, written.dev);
    return written;
  } finally {
    closeFd(fd);
  }
}

/** Writes all of `bytes` at the descriptor's position (a write may take only part). */
function writeAllFd(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) {
    offset += writeSync(fd, bytes, offset, bytes.length - offset);
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
