/**
 * Hashing an open file in bounded chunks, from its start: the one loop that
 * uploads, downloads, the server's resume check and sync share.
 *
 * @module
 */

import type { Hash } from "node:crypto";

/** Bytes read per step: large enough for speed, small enough to stay out of the way. */
const HASH_CHUNK_BYTES = 256 * 1024;

/** Options of {@link hashFileFromStart}. */
export interface HashFileOptions {
  /** Hash at most this many bytes. Default: the whole file. */
  end?: number;
  /** Stops between chunks with the signal's reason once it is aborted. */
  signal?: AbortSignal;
}

/**
 * Feeds `file`'s bytes from its start to `hash`: all of them, or the first
 * `end`. Resolves to the number hashed, which is less than `end` if the file
 * is shorter; the file's position is then where hashing stopped.
 */
export async function hashFileFromStart(
  file: Deno.FsFile,
  hash: Hash,
  options: HashFileOptions = {},
): Promise<number> {
  const end = options.end ?? Number.POSITIVE_INFINITY;
  await file.seek(0, Deno.SeekMode.Start);
  const buffer = new Uint8Array(HASH_CHUNK_BYTES);
  let total = 0;
  while (total < end) {
    options.signal?.throwIfAborted();
    const read = await file.read(buffer.subarray(0, Math.min(buffer.length, end - total)));
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
    total += read;
  }
  return total;
}
