/**
 * The body of a read from the object store as DFOS hands it on: failures
 * turned into ObjectStoreErrors, and a silence of the store longer than the
 * idle timeout ended (the body cancelled, which closes its connection) rather
 * than waited on for ever. `fetch`, which reads take, has no such timeout.
 *
 * @module
 */

import type { ObjectStoreError } from "./object_store.ts";

/** What {@link watchedBody} needs. */
export interface WatchedBodyOptions {
  /** Longest wait for the next chunk, ms. */
  idleTimeoutMs: number;
  /** The error a failure of the body becomes. */
  fail: (error: unknown) => ObjectStoreError;
  /** The error a silence becomes. */
  silent: () => ObjectStoreError;
}

/**
 * `body`, pulled one chunk at a time (nothing read ahead), failing with
 * `fail(error)` or, when no chunk comes within the idle timeout, `silent()`.
 *
 * @example
 * ```ts
 * const watched = watchedBody(reply.body, { idleTimeoutMs: 30_000, fail, silent });
 * ```
 */
export function watchedBody(
  body: ReadableStream<Uint8Array>,
  options: WatchedBodyOptions,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silence = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(options.silent()), options.idleTimeoutMs);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), silence]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        reader.cancel(error).catch(() => {});
        controller.error(options.fail(error));
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
