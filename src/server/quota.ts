/**
 * Per-user storage quota and largest file size. An upload reserves the bytes
 * it still has to send before it starts, so concurrent uploads by one user
 * (from several sessions) cannot together overshoot the quota; the
 * reservation ends when the upload commits or stops.
 *
 * Usage is measured by walking the user's folder (partial uploads
 * included) at most every {@link USAGE_CACHE_MS}; bytes arriving meanwhile
 * are covered by the reservations, and a request that frees space makes the
 * next reservation measure again ({@link QuotaLedger.forget}).
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { type Storage, StorageError } from "../storage/storage.ts";

/** Limits; undefined means unlimited. */
export interface QuotaLimits {
  /** Bytes one user may keep. */
  quotaBytes?: number;
  /** Bytes one file may have. */
  maxFileBytes?: number;
}

/** Options of {@link QuotaLedger}. */
export interface QuotaLedgerOptions {
  /** The clock that ages measured usage, ms. Default `Date.now`. */
  now?: () => number;
}

/** How long a measured usage is trusted, ms. */
export const USAGE_CACHE_MS = 5_000;

/**
 * An upload's hold on quota. Release it exactly once when the upload ends,
 * saying how many bytes it wrote to disk (committed or kept as a partial).
 */
export type Reservation = (bytesWritten: number) => void;

/** Quota accounting for every user of one server. */
export class QuotaLedger {
  #limits: QuotaLimits;
  #measured = new Map<string, { bytes: number; at: number }>();
  #reserved = new Map<string, number>();
  #now: () => number;

  constructor(limits: QuotaLimits, options: QuotaLedgerOptions = {}) {
    this.#limits = limits;
    this.#now = options.now ?? Date.now;
  }

  get limits(): QuotaLimits {
    return this.#limits;
  }

  /** Refuses a file larger than the limit, before anything is written. */
  checkFileSize(path: string, size: number): void {
    const max = this.#limits.maxFileBytes;
    if (max !== undefined && size > max) {
      throw new StorageError(
        STATUS.TOO_LARGE,
        `${path} is ${size} bytes; this server accepts files of at most ${max} bytes`,
      );
    }
  }

  /** Reserves `bytes` for an upload of `user`, or fails with QUOTA_EXCEEDED. */
  async reserve(user: string, storage: Storage, path: string, bytes: number): Promise<Reservation> {
    const quota = this.#limits.quotaBytes;
    if (quota === undefined) return () => {};
    const used = await this.#usage(user, storage);
    const reserved = this.#reserved.get(user) ?? 0;
    if (used + reserved + bytes > quota) {
      throw new StorageError(
        STATUS.QUOTA_EXCEEDED,
        `${path} needs ${bytes} more bytes, but ${user} uses ${
          used + reserved
        } of a ${quota}-byte quota`,
      );
    }
    this.#reserved.set(user, reserved + bytes);
    let released = false;
    return (bytesWritten) => {
      if (released) return;
      released = true;
      this.#reserved.set(user, (this.#reserved.get(user) ?? bytes) - bytes);
      const measured = this.#measured.get(user);
      if (measured) measured.bytes += bytesWritten; // Until the next measurement.
    };
  }

  /**
   * Drops `user`'s measured usage after a change the ledger cannot count
   * (a removal, a rename over a file), so space freed is usable at once.
   * Uploads need not call it: their bytes are counted as they commit.
   */
  forget(user: string): void {
    this.#measured.delete(user);
  }

  async #usage(user: string, storage: Storage): Promise<number> {
    const cached = this.#measured.get(user);
    if (cached && this.#now() - cached.at < USAGE_CACHE_MS) return cached.bytes;
    const bytes = await storage.usage();
    this.#measured.set(user, { bytes, at: this.#now() });
    return bytes;
  }
}
