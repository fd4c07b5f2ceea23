/**
 * Small pieces both transfer directions share: the bytes a data frame
 * carries, hashing a file's first bytes, reading a buffer full, and quiet
 * removal of DFOS's own temporary files.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { MESSAGE_TYPE } from "../protocol/constants.ts";
import type { Frame } from "../protocol/messages.ts";
import { decompressChunk } from "../protocol/compression.ts";
import { LocalError, localError } from "./errors.ts";
import { hashFileFromStart } from "../shared/file_hash.ts";

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
