/**
 * Checks logins against a {@link UserStore}: the users file (re-read when it
 * changes, so users can be added without a restart), or the users table
 * that the nodes of a site share (read at every login). Every login costs one scrypt
 * computation, whether the user is unknown, has a hash or still has a legacy
 * plaintext password, so the time taken does not tell which. After a
 * successful login a plaintext (or too weakly hashed) password is replaced by
 * a fresh hash in the store.
 *
 * A password that passed its scrypt check is remembered for a short while
 * (default {@link DEFAULT_LOGIN_CACHE_MS}), so a burst of logins with it (a
 * script starting many transfers) costs one check, not one each: what is
 * kept is an HMAC of user, stored hash and password under a key that exists
 * only in this process, never the password. Logins that arrive while that
 * check runs wait for its answer instead of starting their own. Only a
 * correct password can hit: an unknown user or a wrong password always
 * costs a full check, so timing still tells nothing about which user names
 * exist. A changed password (a new stored hash) no longer matches, and a
 * deleted user has none: the stored secret is looked up at every login, so
 * the cache never outlives a change of the store.
 *
 * @module
 */

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  isHashed,
  needsRehash,
  type ScryptParams,
  verifyPassword,
} from "./password_hash.ts";
import type { UserStore } from "./user_store.ts";
import { type ProblemReporter, UsersFileStore } from "./users_file_store.ts";
import { type CheckPositionListener, CheckQueue } from "./check_queue.ts";
import { isDemoPassword, storesDemoPassword } from "./demo_passwords.ts";
import { DEFAULT_LOGIN_CACHE_MS, DEFAULT_MAX_CHECK_WAIT_MS } from "./login_defaults.ts";

export { CheckQueueBusyError } from "./check_queue.ts";

/** Password checks that run at once by default: one per core, at most four. */
export const DEFAULT_CHECK_SLOTS = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));

export { DEFAULT_LOGIN_CACHE_MS, DEFAULT_MAX_CHECK_WAIT_MS };

/** Most passwords remembered at once; the oldest goes first. */
const LOGIN_CACHE_ENTRIES = 1024;

export type { ProblemReporter };

/** What happened when a user's secret was to be upgraded after a login (never the secret itself). */
export type RehashOutcome =
  | { user: string; result: "rehashed" }
  /** The user's secret was changed meanwhile; it was left alone. */
  | { user: string; result: "changed" }
  | { user: string; result: "failed"; reason: string };

/** Options of {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** Cost of the hashes written on upgrade, and the minimum accepted without upgrade. Default: {@link DEFAULT_SCRYPT_PARAMS}. */
  scryptParams?: ScryptParams;
  /** Told about each upgrade of a stored secret. Default: nothing. */
  onRehash?: (outcome: RehashOutcome) => void;
  /** Password checks run at once. Default: {@link DEFAULT_CHECK_SLOTS}. */
  checkSlots?: number;
  /** Longest a check waits for its turn before it is refused as busy, ms. Default: {@link DEFAULT_MAX_CHECK_WAIT_MS}. */
  maxCheckWaitMs?: number;
  /** How long a password that passed is remembered, ms; 0: check every login. Default: {@link DEFAULT_LOGIN_CACHE_MS}. */
  loginCacheMs?: number;
  /** Called after a reload found the users file changed (not after the first load). Default: nothing. */
  onUsersChanged?: () => void;
  /** Told how long each password check waited for its turn, ms (see `CheckQueueOptions.onWait`). Default: nothing. */
  onCheckWait?: (waitedMs: number) => void;
}

/** Verifies user names and passwords. */
export class Authenticator {
  #store: UserStore;
  #params: ScryptParams;
  #onRehash: (outcome: RehashOutcome) => void;
  #dummyHash: Promise<string> | undefined;
  #checks: CheckQueue;
  #cacheMs: number;
  #cacheKey = randomBytes(32);
  /** Tag of a verified (user, stored hash, password) → when it expires. */
  #verified = new Map<string, number>();
  /** Checks running now, by tag: logins with the same password wait for the same answer. */
  #running = new Map<string, Promise<boolean>>();
  #checksRun = 0;
  /** Stored secret → whether it is a demo password; learnt from logins, or checked once. */
  #demoSecrets = new Map<string, Promise<boolean>>();

  /**
   * `users` is the path of a users file (whose skipped lines go to `report`)
   * or a store of users.
   */
  constructor(
    users: string | UserStore,
    report: ProblemReporter = () => {},
    options: AuthenticatorOptions = {},
  ) {
    this.#store = typeof users === "string"
      ? new UsersFileStore(users, report, options.onUsersChanged)
      : users;
    this.#params = options.scryptParams ?? DEFAULT_SCRYPT_PARAMS;
    this.#onRehash = options.onRehash ?? (() => {});
    this.#cacheMs = options.loginCacheMs ?? DEFAULT_LOGIN_CACHE_MS;
    // Each scrypt run takes 32 MiB and a core: a crowd of logins (or of attackers)
    // queues instead of exhausting memory, and is refused as busy past the wait bound.
    this.#checks = new CheckQueue({
      slots: options.checkSlots ?? DEFAULT_CHECK_SLOTS,
      maxWaitMs: options.maxCheckWaitMs ?? DEFAULT_MAX_CHECK_WAIT_MS,
      onWait: options.onCheckWait,
    });
  }

  /** Where the users are, for messages. */
  get location(): string {
    return this.#store.location;
  }

  /** Reads the users now (a file: unless it is unchanged); fails if it cannot. Resolves to the number of users. */
  async load(): Promise<number> {
    await this.#ensureDummyHash();
    return await this.#store.load();
  }

  /**
   * Names of the users whose stored password is a documented demo password
   * (see demo_passwords.ts), in file order. Each secret is checked once.
   */
  async demoPasswordUsers(): Promise<string[]> {
    const users = this.#store.loaded();
    const found = await Promise.all(users.map(([name, secret]) => {
      const known = this.#demoSecrets.get(secret) ?? storesDemoPassword(name, secret);
      this.#demoSecrets.set(secret, known);
      return known;
    }));
    return users.filter((_, index) => found[index]).map(([name]) => name);
  }

  /** Remembers whether `secret` holds a demo password, learnt from a login that matched it. */
  #learnDemo(secret: string, password: string): void {
    if (this.#demoSecrets.size >= LOGIN_CACHE_ENTRIES) this.#demoSecrets.clear();
    this.#demoSecrets.set(secret, Promise.resolve(isDemoPassword(password)));
  }

  /** Password checks (scrypt runs for a login) completed so far. */
  get checksRun(): number {
    return this.#checksRun;
  }

  /** Names of the users whose password is still stored in plaintext, in file order. */
  legacyUsers(): string[] {
    return this.#store.loaded().filter(([, secret]) => !isHashed(secret)).map(([name]) => name);
  }

  /**
   * True when `user` exists and `password` is theirs. The check waits its turn
   * behind other checks (`onPosition` hears its place while it waits) and
   * rejects with {@link CheckQueueBusyError} if that wait would be too long.
   */
  async verify(
    user: string,
    password: string,
    onPosition?: CheckPositionListener,
  ): Promise<boolean> {
    const tag = await this.#cacheTag(user, password);
    if (tag === undefined) return await this.#check(user, password, onPosition);
    const expires = this.#verified.get(tag);
    if (expires !== undefined && expires > Date.now()) return true;
    this.#verified.delete(tag);
    const running = this.#running.get(tag);
    if (running) return await running;
    const check = this.#check(user, password, onPosition).then((matches) => {
      if (matches) this.#remember(tag);
      return matches;
    }).finally(() => this.#running.delete(tag));
    this.#running.set(tag, check);
    return await check;
  }

  /**
   * The cache key of a login, or undefined when it cannot be cached (cache
   * off, unknown or legacy user). It holds the secret stored now: a changed
   * or deleted user no longer matches what was remembered.
   */
  async #cacheTag(user: string, password: string): Promise<string | undefined> {
    if (this.#cacheMs <= 0) return undefined;
    const secret = await this.#store.secretOf(user);
    if (secret === undefined || !isHashed(secret) || needsRehash(secret, this.#params)) {
      return undefined;
    }
    return createHmac("sha256", this.#cacheKey).update(`${user}\0${secret}\0${password}`)
      .digest("base64");
  }

  #remember(tag: string): void {
    if (this.#verified.size >= LOGIN_CACHE_ENTRIES) {
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(tag, Date.now() + this.#cacheMs);
  }

  /** One scrypt check, in its turn. */
  async #check(
    user: string,
    password: string,
    onPosition?: CheckPositionListener,
  ): Promise<boolean> {
    return await this.#checks.run(async () => {
      // Looked up when the check runs, not when it was queued: a login that waited behind
      // another one of the same legacy user sees the hash that login stored, not the
      // plaintext, and does not hash and write the file once more.
      const secret = await this.#store.secretOf(user);
      const matches = await this.#matches(secret, password);
      this.#checksRun++;
      if (matches && secret !== undefined) this.#learnDemo(secret, password);
      if (matches && secret !== undefined && needsRehash(secret, this.#params)) {
        await this.#rehash(user, secret, password);
      }
      return matches;
    }, onPosition);
  }

  /** Costs one scrypt computation in every case. */
  async #matches(secret: string | undefined, password: string): Promise<boolean> {
    if (secret !== undefined && isHashed(secret)) return await verifyPassword(secret, password);
    await verifyPassword(await this.#ensureDummyHash(), password);
    return secret !== undefined && constantTimeEqual(secret, password);
  }

  /** A hash of a random password with the configured cost, made once. */
  #ensureDummyHash(): Promise<string> {
    this.#dummyHash ??= (async () => {
      const started = performance.now();
      const hash = await hashPassword(randomBytes(18).toString("base64"), this.#params);
      // As costly as a check: tells the check queue early what one costs on this machine.
      this.#checks.observe(performance.now() - started);
      return hash;
    })();
    return this.#dummyHash;
  }

  /** Replaces `user`'s secret with a fresh hash unless someone changed it since it was loaded. */
  async #rehash(user: string, loadedSecret: string, password: string): Promise<void> {
    try {
      const fresh = await hashPassword(password, this.#params);
      const written = await this.#store.replaceSecret(user, loadedSecret, fresh);
      if (written) this.#learnDemo(fresh, password);
      this.#onRehash({ user, result: written ? "rehashed" : "changed" });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#onRehash({ user, result: "failed", reason });
    }
  }
}

/** Compares two strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}
