/**
 * Slows down and then stops password guessing. Failed logins are counted per
 * user name and per source address within a window; each failure is
 * answered after a delay that doubles with every failure, and past a
 * threshold the user name (or address) is locked out for a while. Other
 * users and addresses are unaffected.
 *
 * {@link LoginGuard} counts in this process; a site of several nodes counts
 * in the shared database (database/login_failures.ts) by the same rules
 * ({@link countFailure}), so failures spread over the nodes add up.
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

/** The failures of one user name or address. Times in ms since the epoch. */
export interface Counter {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

/** Which failures a login counts against: its user name's and its address's. */
export type FailureScope = Lockout["scope"];

/** A value, or a promise of it: the local guard answers at once, the shared one after a query. */
type Awaitable<T> = T | Promise<T>;

/** Where failed logins are counted: this process, or the database the nodes share. */
export interface LoginFailures {
  /** The lockout that stops this attempt before the password is checked, if any. */
  check(user: string, address: string): Awaitable<Lockout | undefined>;
  /** Counts a failure and says how long to delay the answer, and whether a lockout began. */
  recordFailure(user: string, address: string): Awaitable<FailureVerdict>;
  /** A successful login clears that user's failures (not the address's). */
  recordSuccess(user: string): Awaitable<void>;
}

/** Whether `counter` still counts at `now`: locked, or its first failure within the window. */
export function isCurrent(counter: Counter, now: number, windowMs: number): boolean {
  return counter.lockedUntil > now || now - counter.firstAt <= windowMs;
}

/**
 * `counter` (undefined: none, or no longer current) after one more failure
 * at `now`, and whether that failure starts a lockout of `scope`.
 */
export function countFailure(
  counter: Counter | undefined,
  now: number,
  scope: FailureScope,
  options: LoginGuardOptions,
): { counter: Counter; lockedOut: boolean } {
  const next = counter === undefined || !isCurrent(counter, now, options.windowMs)
    ? { failures: 1, firstAt: now, lockedUntil: 0 }
    : { ...counter, failures: counter.failures + 1 };
  const limit = scope === "user" ? options.maxFailuresPerUser : options.maxFailuresPerAddress;
  const lockedOut = next.failures >= limit && next.lockedUntil <= now;
  if (lockedOut) next.lockedUntil = now + options.lockoutMs;
  return { counter: next, lockedOut };
}

/** How long to delay the answer to a failure when the worst counter holds `failures`. */
export function failureDelay(failures: number, options: LoginGuardOptions): number {
  return Math.min(options.baseDelayMs * 2 ** (failures - 1), options.maxDelayMs);
}

/** Most counters kept; beyond it the oldest are dropped (memory stays bounded under attack). */
const MAX_COUNTERS = 100_000;

/** Failure counters and lockouts, per user name and per source address. */
export class LoginGuard implements LoginFailures {
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
      const counted = countFailure(this.#current(key), this.#now(), scope, this.#options);
      this.#store(key, counted.counter);
      worst = Math.max(worst, counted.counter.failures);
      if (counted.lockedOut) lockedOut ??= { scope, retryAfterMs: this.#options.lockoutMs };
    }
    return { delayMs: failureDelay(worst, this.#options), lockedOut };
  }

  /** A successful login clears that user's failures (not the address's). */
  recordSuccess(user: string): void {
    this.#counters.delete(`user:${user}`);
  }

  #current(key: string): Counter | undefined {
    const counter = this.#counters.get(key);
    if (!counter) return undefined;
    if (!isCurrent(counter, this.#now(), this.#options.windowMs)) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }

  #store(key: string, counter: Counter): void {
    if (!this.#counters.has(key) && this.#counters.size >= MAX_COUNTERS) {
      this.#counters.delete(this.#counters.keys().next().value!);
    }
    this.#counters.set(key, counter);
  }
}

function keys(user: string, address: string): [Lockout["scope"], string][] {
  return [["user", `user:${user}`], ["address", `address:${address}`]];
}
