/**
 * The window of files a tree transfer keeps in flight on one connection,
 * bounded by what they hold in memory rather than by a count: many small
 * files at once (each costs a request and its bytes, no round trip), few
 * large ones (each streams on its own and keeps two chunks buffered). So a
 * tree costs a number of round trips that does not grow with its files.
 *
 * @module
 */

import { MAX_WHOLE_FILE_SIZE } from "../protocol/constants.ts";

/** Bounds of {@link runWindow}; a file starts once it fits all of them. */
export interface WindowLimits {
  /** Files in flight at once. Default {@link DEFAULT_WINDOW_FILES}. */
  files?: number;
  /**
   * Bytes of the files in flight, each with {@link FILE_OVERHEAD_COST}; a
   * streamed file counts as {@link STREAMED_FILE_COST}. Default
   * {@link DEFAULT_WINDOW_BYTES}.
   */
  bytes?: number;
  /**
   * Files larger than one request (streamed) in flight at once. Default
   * {@link DEFAULT_WINDOW_STREAMS}: the server streams at most 8 downloads
   * of a session at once and stops reading beyond (PROTOCOL.md §5.4).
   */
  streams?: number;
}

/**
 * Default bound on the files in flight: high enough that bytes bound the
 * window of small files (4,096 files of 4 KiB fill it), so the round trips
 * a tree costs follow its bytes, not its number of files.
 */
export const DEFAULT_WINDOW_FILES = 4096;
/** Default bound on their bytes: 16 MiB. */
export const DEFAULT_WINDOW_BYTES = 16 * 1024 * 1024;
/** Default bound on the streamed (large) files in flight. */
export const DEFAULT_WINDOW_STREAMS = 8;
/** What a streamed file holds in memory at most: its double buffer, with room. */
export const STREAMED_FILE_COST = 1024 * 1024;
/** What any file in flight costs besides its bytes: its request, path and bookkeeping. */
export const FILE_OVERHEAD_COST = 512;

/**
 * Runs `work` on every item, in the order they come, keeping as many in
 * flight as `limits` allow for their `sizeOf`; the first one always starts.
 * The next item is taken only once there is room, so a stream of items (a
 * tree being walked) is read no faster than it is moved. Resolves when all
 * are done; a rejection of `work`, or of the stream, rejects it once the
 * work begun has ended (callers that want to carry on catch inside `work`).
 */
export async function runWindow<T>(
  items: Iterable<T> | AsyncIterable<T>,
  sizeOf: (item: T) => number,
  work: (item: T) => Promise<void>,
  limits: WindowLimits = {},
): Promise<void> {
  const maxFiles = limits.files ?? DEFAULT_WINDOW_FILES;
  const maxBytes = limits.bytes ?? DEFAULT_WINDOW_BYTES;
  const maxStreams = limits.streams ?? DEFAULT_WINDOW_STREAMS;
  let running = 0;
  let bytes = 0;
  let streams = 0;
  let failure: { error: unknown } | undefined;
  // One waiter, woken when any file ends: racing every file in flight each
  // time (thousands of small ones) cost time and memory growing with their square.
  let wake: (() => void) | undefined;
  const ended = () => new Promise<void>((resolve) => wake = resolve);
  try {
    for await (const item of items) {
      const size = sizeOf(item);
      const streamed = size > MAX_WHOLE_FILE_SIZE;
      const cost = streamed ? STREAMED_FILE_COST : size + FILE_OVERHEAD_COST;
      const fits = () =>
        running === 0 ||
        (running < maxFiles && bytes + cost <= maxBytes && (!streamed || streams < maxStreams));
      while (!fits() && !failure) await ended();
      if (failure) break;
      bytes += cost;
      if (streamed) streams++;
      running++;
      work(item).catch((error) => {
        failure ??= { error };
      }).finally(() => {
        bytes -= cost;
        if (streamed) streams--;
        running--;
        wake?.();
        wake = undefined;
      });
    }
  } finally {
    while (running > 0) await ended();
  }
  if (failure) throw failure.error;
}
