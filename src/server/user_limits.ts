/**
 * Per-user pacing on the server: a bandwidth limit and a request-rate limit,
 * each one bucket per user shared by all of that user's sessions. Each user
 * has their own buckets, so one user's traffic never slows another's.
 *
 * @module
 */

import { RateLimiter } from "../shared/rate_limiter.ts";

/** Limits per user; undefined means unlimited. */
export interface UserLimitOptions {
  /** Bytes per second, uploads and downloads together. */
  bytesPerSecond?: number;
  /** Requests per second. */
  requestsPerSecond?: number;
}

/** The pacers one session uses. */
export interface UserPacers {
  bandwidth?: RateLimiter;
  requests?: RateLimiter;
}

/** Hands out each user's pacers, creating them on first use. */
export class UserLimits {
  #options: UserLimitOptions;
  #pacers = new Map<string, UserPacers>();

  constructor(options: UserLimitOptions) {
    this.#options = options;
  }

  for(user: string): UserPacers {
    let pacers = this.#pacers.get(user);
    if (!pacers) {
      const { bytesPerSecond, requestsPerSecond } = this.#options;
      pacers = {
        bandwidth: bytesPerSecond ? new RateLimiter(bytesPerSecond) : undefined,
        requests: requestsPerSecond
          ? new RateLimiter(requestsPerSecond, { burst: Math.max(requestsPerSecond, 1) })
          : undefined,
      };
      this.#pacers.set(user, pacers);
    }
    return pacers;
  }
}
