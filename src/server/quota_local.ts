/**
 * The {@link QuotaBook} of a server on its own: reservations kept in this
 * process, usage measured through the user's storage (the local backend
 * walks the folder, partials included) at most every {@link USAGE_CACHE_MS}.
 * Bytes arriving meanwhile are covered by the reservations, discarded
 * partials are taken off, and any other request that frees space makes the
 * next reservation measure again ({@link LocalQuotaBook.forget}).
 *
 * @module
 */

import type { Storage } from "../storage/storage.ts";
import type { QuotaBook, QuotaHold } from "./quota.ts";

/** How long a measured usage is trusted, ms. */
export const USAGE_CACHE_MS = 5_000;

/** Options of {@link LocalQuotaBook}. */
export interface LocalQuotaBookOptions {
  /** The clock that ages measured usage, ms. Default `Date.now`. */
  now?: () => number;
}

/** Usage and reservations of every user of one server, in memory. */
export class LocalQuotaBook implements QuotaBook {
  #measured = new Map<string, { bytes: number; at: number }>();
  #reserved = new Map<string, number>();
  #now: () => number;

  constructor(options: LocalQuotaBookOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async hold(user: string, storage: Storage, bytes: number, quota: number): Promise<QuotaHold> {
    const used = await this.#usage(user, storage);
    const reserved = this.#reserved.get(user) ?? 0;
    if (used + reserved + bytes > quota) return { used: used + reserved };
    this.#reserved.set(user, reserved + bytes);
    return {
      release: (bytesWritten) => {
        this.#reserved.set(user, (this.#reserved.get(user) ?? bytes) - bytes);
        const measured = this.#measured.get(user);
        if (measured) measured.bytes += bytesWritten; // Until the next measurement.
      },
    };
  }

  forget(user: string): void {
    this.#measured.delete(user);
  }

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
