/**
 * Per-user storage quota and largest file size. An upload reserves the bytes
 * it still has to send before it starts, so concurrent uploads by one user
 * (from several sessions) cannot together overshoot the quota; the
 * reservation ends when the upload commits or stops.
 *
 * Usage is measured by walking the user's folder (partial uploads
 * included) at most every {@link USAGE_CACHE_MS}; bytes arriving meanwhile
 * are covered by the reservations, discarded partials are taken off, and
 * any other request that frees space makes the next reservation measure
 * again ({@link QuotaLedger.forget}).
 * A refusal says how much of the usage is partials the user can discard.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { formatBytes } from "../shared/format_bytes.ts";
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
      const partials = await discardableBytes(storage);
      throw quotaExceeded({ path, user, bytes, used: used + reserved, quota, partials });
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

  /** Takes `bytes` the user freed by discarding partials off the measured usage. */
  discarded(user: string, bytes: number): void {
    const measured = this.#measured.get(user);
    if (measured) measured.bytes = Math.max(0, measured.bytes - bytes);
  }

  async #usage(user: string, storage: Storage): Promise<number> {
    const cached = this.#measured.get(user);
    if (cached && this.#now() - cached.at < USAGE_CACHE_MS) return cached.bytes;
    const bytes = await storage.usage();
    this.#measured.set(user, { bytes, at: this.#now() });
    return bytes;
  }
}

/** Bytes of partial uploads no upload is writing now; 0 if they cannot be counted. */
async function discardableBytes(storage: Storage): Promise<number> {
  try {
    const { bytes, bytesInProgress } = await storage.listPartials({ limit: 0 });
    return bytes - bytesInProgress;
  } catch {
    return 0; // The refusal stands; it just says less.
  }
}

/** What a refusal for lack of quota tells the user. */
interface QuotaShortfall {
  path: string;
  user: string;
  /** Bytes the upload still needs. */
  bytes: number;
  /** Bytes in use or reserved. */
  used: number;
  quota: number;
  /** Bytes of discardable partials, counted in `used`. */
  partials: number;
}

/**
 * The QUOTA_EXCEEDED error: what the upload needs, what is free, and, if
 * unfinished uploads take part of the usage, how much and how to free it.
 */
function quotaExceeded(shortfall: QuotaShortfall): StorageError {
  const { path, user, bytes, used, quota } = shortfall;
  const partials = Math.min(shortfall.partials, used);
  const free = Math.max(0, quota - used);
  const hint = partials > 0
    ? ` (${formatBytes(partials)} of the usage is unfinished uploads: ` +
      "`partials` lists them, `partials rm` discards them)"
    : "";
  // Sizes that round alike ("needs 8.0 MiB, 8.0 MiB free") are given to the byte.
  const exact = formatBytes(bytes) === formatBytes(free);
  const size = (count: number) => exact ? `${count} bytes` : formatBytes(count);
  return new StorageError(
    STATUS.QUOTA_EXCEEDED,
    `${path}: quota exceeded: the upload needs ${size(bytes)}, but only ` +
      `${size(free)} of ${user}'s ${formatBytes(quota)} quota is free${hint}`,
  );
}
