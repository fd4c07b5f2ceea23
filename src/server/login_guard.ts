/**
 * Slows down and then stops password guessing. Failed logins are counted per
 * user name and per source address within a window; each failure is
 * answered after a delay that doubles with every failure, and past a
 * threshold the user name (or address) is locked out for a while. Other
 * users and addresses are unaffected.
 *
 * @module
 */

/** Limits of the {@link LoginGuard}; all have documented defaults. */
export interface LoginGuardOptions {
  /** Failures for one user name before it is locked. Default 10. */
  maxFailuresPerUser: number;
  /** Failures from one address before it is locked. Default 30. */
  maxFailuresPerAddress: number;
  /** How long a lockout lasts, ms. Default 300 000 (5 minutes). */
  lockoutMs: number;
  /** Failures older than this are forgotten, ms. Default 900 000 (15 minutes). */
  windowMs: number;
  /** Delay after the first failure, ms; doubles with each further one. Default 250. */
  baseDelayMs: number;
  /** Longest delay, ms. Default 8000. */
  maxDelayMs: number;
}

/** The defaults. */
export const DEFAULT_LOGIN_GUARD: LoginGuardOptions = {
  maxFailuresPerUser: 10,
  maxFailuresPerAddress: 30,
  lockoutMs: 300_000,
  windowMs: 900_000,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
};

/** A lockout in force. */
export interface Lockout {
  scope: "user" | "address";
  retryAfterMs: number;
}

/** What to do after a failure. */
export interface FailureVerdict {
  /** Wait this long before answering. */
  delayMs: number;
  /** Set when this failure started a lockout. */
  lockedOut?: Lockout;
}

interface Counter {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

/** Most counters kept; beyond it the oldest are dropped (memory stays bounded under attack). */
const MAX_COUNTERS = 100_000;

/** Failure counters and lockouts, per user name and per source address. */
export class LoginGuard {
  #options: LoginGuardOptions;
  #counters = new Map<string, Counter>();
  #now: () => number;

  constructor(options: Partial<LoginGuardOptions> = {}, now: () => number = Date.now) {
    this.#options = { ...DEFAULT_LOGIN_GUARD, ...options };
    this.#now = now;
  }

  /** The lockout that stops this attempt before the password is checked, if any. */
  check(user: string, address: string): Lockout | undefined {
    for (const [scope, key] of keys(user, address)) {
      const counter = this.#current(key);
      if (counter && counter.lockedUntil > this.#now()) {
        return { scope, retryAfterMs: counter.lockedUntil - this.#now() };
      }
    }
    return undefined;
  }

  /** Counts a failure and says how long to delay the answer, and whether a lockout began. */
  recordFailure(user: string, address: string): FailureVerdict {
    let worst = 0;
    let lockedOut: Lockout | undefined;
    for (const [scope, key] of keys(user, address)) {
      const counter = this.#count(key);
      worst = Math.max(worst, counter.failures);
      const limit = scope === "user"
        ? this.#options.maxFailuresPerUser
        : this.#options.maxFailuresPerAddress;
      if (counter.failures >= limit && counter.lockedUntil <= this.#now()) {
        counter.lockedUntil = this.#now() + this.#options.lockoutMs;
        lockedOut ??= { scope, retryAfterMs: this.#options.lockoutMs };
      }
    }
    const delayMs = Math.min(
      this.#options.baseDelayMs * 2 ** (worst - 1),
      this.#options.maxDelayMs,
    );
    return { delayMs, lockedOut };
  }

  /** A successful login clears that user's failures (not the address's). */
  recordSuccess(user: string): void {
    this.#counters.delete(`user:${user}`);
  }

  #current(key: string): Counter | undefined {
    const counter = this.#counters.get(key);
    if (!counter) return undefined;
    const now = this.#now();
    if (counter.lockedUntil <= now && now - counter.firstAt > this.#options.windowMs) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }

  #count(key: string): Counter {
    let counter = this.#current(key);
    if (!counter) {
      if (this.#counters.size >= MAX_COUNTERS) {
        this.#counters.delete(this.#counters.keys().next().value!);
      }
      counter = { failures: 0, firstAt: this.#now(), lockedUntil: 0 };
      this.#counters.set(key, counter);
    }
    counter.failures++;
    return counter;
  }
}

function keys(user: string, address: string): [Lockout["scope"], string][] {
  return [["user", `user:${user}`], ["address", `address:${address}`]];
}
