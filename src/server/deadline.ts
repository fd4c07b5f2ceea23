/**
 * Time limits for waits that depend on the peer.
 *
 * @module
 */

/** Thrown when a wait outlives its deadline. */
export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not complete within ${ms / 1000} s`);
    this.name = "DeadlineError";
  }
}

/**
 * Resolves like `promise`, or rejects with {@link DeadlineError} after `ms`
 * and calls `onExpire` (typically: close the connection so the underlying
 * read is cancelled too).
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  onExpire?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onExpire?.();
      reject(new DeadlineError(what, ms));
    }, ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
