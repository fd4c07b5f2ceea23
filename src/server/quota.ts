/**
 * Per-user storage quota and largest file size. An upload reserves the bytes
 * it still has to send before it starts, so concurrent uploads by one user
 * (from several sessions, or through several nodes) cannot together
 * overshoot the quota; the reservation ends when the upload commits or stops.
 *
 * The check is made here, whatever keeps the counts: a {@link QuotaBook}
 * chosen by configuration holds usage and reservations, in this process
 * (quota_local.ts) or in the database the nodes share.
 * A refusal says how much of the usage is partials the user can discard.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { formatBytes } from "../shared/format_bytes.ts";
import { type Storage, StorageError } from "../storage/storage.ts";
import { LocalQuotaBook } from "./quota_local.ts";

export { USAGE_CACHE_MS } from "./quota_local.ts";

/** Limits; undefined means unlimited. */
export interface QuotaLimits {
  /** Bytes one user may keep. */
  quotaBytes?: number;
  /** Bytes one file may have. */
  maxFileBytes?: number;
}

/**
 * An upload's hold on quota. Release it exactly once when the upload ends,
 * saying how many bytes it wrote (committed or kept as a partial).
 */
export type Reservation = (bytesWritten: number) => void;

/**
 * What {@link QuotaBook.hold} found: the bytes were held (`release` ends
 * the hold), or they do not fit and `used` is the usage and holds that
 * stood in the way.
 */
export type QuotaHold = { release: Reservation } | { used: number };

/**
 * Where a user's usage and reservations are kept: this process
 * (quota_local.ts) or, with `--database` on the object store, the database
 * every node shares (src/database/quota_reservations.ts). Checking and
 * holding is one step, so two uploads cannot both take the last bytes.
 */
export interface QuotaBook {
  /** Holds `bytes` for `user` if usage, holds and `bytes` together stay within `quota`. */
  hold(user: string, storage: Storage, bytes: number, quota: number): Promise<QuotaHold>;
  /** A change the book cannot count freed space (a removal): measure again. */
  forget(user: string): void;
  /** `user` discarded partials of `bytes`. */
  discarded(user: string, bytes: number): void;
}

/** Options of {@link QuotaLedger}. */
export interface QuotaLedgerOptions {
  /** Where usage and reservations are kept. Default: a {@link LocalQuotaBook} on `now`. */
  book?: QuotaBook;
  /** The clock of the default book, ms. Default `Date.now`. */
  now?: () => number;
}

/** Quota accounting for every user of one server: the one place a quota is checked. */
export class QuotaLedger {
  #limits: QuotaLimits;
  #book: QuotaBook;

  constructor(limits: QuotaLimits, options: QuotaLedgerOptions = {}) {
    this.#limits = limits;
    this.#book = options.book ?? new LocalQuotaBook({ now: options.now });
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

  /**
   * Reserves `bytes` for an upload of `user`, or fails with QUOTA_EXCEEDED
   * (or with the book's own error, such as the database unreachable: then
   * nothing is reserved and the upload does not start).
   */
  async reserve(user: string, storage: Storage, path: string, bytes: number): Promise<Reservation> {
    const quota = this.#limits.quotaBytes;
    if (quota === undefined) return () => {};
    const held = await this.#book.hold(user, storage, bytes, quota);
    if ("used" in held) {
      const partials = await discardableBytes(storage);
      throw quotaExceeded({ path, user, bytes, used: held.used, quota, partials });
    }
    let released = false;
    return (bytesWritten) => {
      if (released) return;
      released = true;
      held.release(bytesWritten);
    };
  }

  /**
   * Drops `user`'s measured usage after a change the ledger cannot count
   * (a removal, a rename over a file), so space freed is usable at once.
   * Uploads need not call it: their bytes are counted as they commit.
   */
  forget(user: string): void {
    this.#book.forget(user);
  }

  /** Takes `bytes` the user freed by discarding partials off the measured usage. */
  discarded(user: string, bytes: number): void {
    this.#book.discarded(user, bytes);
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
