/**
 * Which partial files an upload in this process is writing now. Two uploads
 * of the same (path, size, mtime) would share one partial, so one claims it
 * and a second waits a little for it: a client killed mid-upload and run
 * again at once finds its old upload still closing on the server (its
 * session has not seen the connection end yet), and resumes once that has
 * let go instead of being refused. An upload still being written after
 * {@link PARTIAL_HANDOVER_MS} keeps it, and the second one is refused.
 *
 * @module
 */

import { KeyWaiters } from "../shared/key_waiters.ts";

/** Longest a new upload waits for another upload of the same file to let go of its partial. */
export const PARTIAL_HANDOVER_MS = 2_000;

/** Claimed partials. */
const CLAIMS = new Set<string>();
/** Uploads waiting for a claimed partial, by its key. */
const WAITING = new KeyWaiters<string>();

/** Whether an upload in this process holds the partial `key` now. */
export function isClaimed(key: string): boolean {
  return CLAIMS.has(key);
}

/**
 * Claims the partial `key`, waiting up to `waitMs` for an upload holding it
 * to release it; false if it is still held then.
 */
export async function claimPartial(key: string, waitMs = PARTIAL_HANDOVER_MS): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  while (CLAIMS.has(key)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await WAITING.wait(key, left);
  }
  CLAIMS.add(key);
  return true;
}

/** Gives the partial `key` up; an upload waiting for it gets its turn. */
export function releasePartial(key: string): void {
  CLAIMS.delete(key);
  WAITING.wakeAll(key);
}
