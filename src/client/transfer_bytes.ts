/**
 * Small pieces both transfer directions share: the bytes a data frame
 * carries, hashing a file's first bytes, reading a buffer full, and quiet
 * removal of DFOS's own temporary files.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { fstatSync, readSync } from "node:fs";
import { MESSAGE_TYPE } from "../protocol/constants.ts";
import type { Frame } from "../protocol/messages.ts";
import { decompressChunk } from "../protocol/compression.ts";
import { LocalError, localError } from "./errors.ts";
import { hashFileFromStart } from "../shared/file_hash.ts";
import { closeFd, openFileFd } from "../storage/descriptor_paths.ts";

/** The file bytes a `Data` or `DataZstd` frame carries. */
export function chunkBytes(frame: Frame): Uint8Array {
  return frame.type === MESSAGE_TYPE.DataZstd ? decompressChunk(frame.payload) : frame.payload;
}

/** Feeds bytes [0, `end`) of `file` to `hash`; stops with the reason of an aborted `signal`. */
export async function hashFile(
  file: Deno.FsFile,
  end: number,
  hash: Hash,
  signal?: AbortSignal,
): Promise<void> {
  if (end === 0) return;
  if (await hashFileFromStart(file, hash, { end, signal }) < end) {
    throw new LocalError("the partial file is shorter than expected");
  }
}

/** Reads until `buffer` is full or the file ends; resolves to the bytes read. */
export async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}

/** Removes `path` if it is there. */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* Already gone. */ }
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** Opens the local file to send, with what it is; a {@link LocalError} if it cannot be read or is not a regular file. */
export function openLocalFile(localPath: string): { file: Deno.FsFile; info: Deno.FileInfo } {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(localPath, { read: true });
  } catch (error) {
    throw localError(error, localPath);
  }
  try {
    const info = file.statSync();
    if (!info.isFile) throw new LocalError(`${localPath}: not a regular file`);
    return { file, info };
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * The whole of the local file `localPath` and its mtime (ms), if it is a
 * regular file of at most `maxSize` bytes (undefined if larger), read by
 * descriptor: the stat of a `Deno.FsFile` resolves its path again, one
 * `readlink` per folder on the way, where the descriptor's own `fstat` is
 * one call. Opened without blocking, so a FIFO is refused, never waited on.
 */
export function readSmallLocalFile(
  localPath: string,
  maxSize: number,
): { content: Uint8Array; mtimeMs: number } | undefined {
  let fd: number;
  try {
    fd = openFileFd(localPath);
  } catch (error) {
    throw localError(error, localPath);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new LocalError(`${localPath}: not a regular file`);
    if (info.size > maxSize) return undefined;
    const content = new Uint8Array(info.size);
    for (let filled = 0; filled < content.length;) {
      const read = readSync(fd, content, filled, content.length - filled, null);
      if (read === 0) throw new LocalError(`${localPath}: shrank while it was being uploaded`);
      filled += read;
    }
    return { content, mtimeMs: Math.floor(info.mtimeMs) };
  } finally {
    closeFd(fd);
  }
}
