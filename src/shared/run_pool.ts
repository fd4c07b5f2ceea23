/**
 * A fixed number of workers over a list: how transfers keep a window of
 * requests in flight without starting them all at once.
 *
 * @module
 */

/**
 * Runs `work` on every item, at most `limit` at once, in order of the list.
 * Resolves when all are done; a rejection of `work` rejects it (callers that
 * want to carry on catch inside `work`).
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
