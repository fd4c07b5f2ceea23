/**
 * Failed logins and lockouts in the shared database (`login_failures`), so
 * that guesses spread over several nodes add up as they would on one: the
 * same rules as the in-process guard (login_guard.ts's `countFailure`), one
 * row per user name and per address, each failure counted in one
 * transaction that locks both rows (always in the same order, user first),
 * with the database's clock. Counters past their window are deleted now and
 * then, so the table stays as small as the attack is recent.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  type Counter,
  countFailure,
  DEFAULT_LOGIN_GUARD,
  failureDelay,
  type FailureScope,
  type FailureVerdict,
  type Lockout,
  type LoginFailures,
  type LoginGuardOptions,
} from "../server/login_guard.ts";
import type { Database, TransactionSql } from "./database.ts";

/** How often a node deletes counters that no longer count, ms. */
const CLEANUP_EVERY_MS = 60_000;
/** Longest subject kept as it is; a longer one (or one with NUL) is kept as its SHA-256. */
const MAX_SUBJECT_LENGTH = 255;

interface CounterRow {
  failures: number;
  first_at: number;
  locked_until: number;
  now: number;
}

/** Failure counters and lockouts that every node shares. */
export class SharedLoginGuard implements LoginFailures {
  readonly #database: Database;
  readonly #options: LoginGuardOptions;
  #lastCleanup = 0;

  constructor(database: Database, options: Partial<LoginGuardOptions> = {}) {
    this.#database = database;
    this.#options = { ...DEFAULT_LOGIN_GUARD, ...options };
  }

  async check(user: string, address: string): Promise<Lockout | undefined> {
    const rows = await this.#database.run((sql) =>
      sql<{ scope: FailureScope; retry_ms: number }[]>`
        SELECT scope, ceil(extract(epoch FROM locked_until - now()) * 1000)::bigint AS retry_ms
        FROM login_failures
        WHERE ((scope = 'user' AND subject = ${subjectOf(user)})
            OR (scope = 'address' AND subject = ${subjectOf(address)}))
          AND locked_until > now()
        ORDER BY scope DESC`
    );
    return rows.length === 0 ? undefined : { scope: rows[0].scope, retryAfterMs: rows[0].retry_ms };
  }

  async recordFailure(user: string, address: string): Promise<FailureVerdict> {
    const verdict = await this.#database.transaction(async (sql) => {
      let worst = 0;
      let lockedOut: Lockout | undefined;
      for (const [scope, subject] of keys(user, address)) {
        const counted = await this.#count(sql, scope, subject);
        worst = Math.max(worst, counted.failures);
        if (counted.lockedOut) lockedOut ??= { scope, retryAfterMs: this.#options.lockoutMs };
      }
      return { delayMs: failureDelay(worst, this.#options), lockedOut };
    });
    this.#cleanUpNowAndThen();
    return verdict;
  }

  async recordSuccess(user: string): Promise<void> {
    await this.#database.run((sql) =>
      sql`DELETE FROM login_failures WHERE scope = 'user' AND subject = ${subjectOf(user)}`
    );
  }

  /** Counts one failure of `subject`, its row locked; resolves to its failures and whether a lockout began. */
  async #count(
    sql: TransactionSql,
    scope: FailureScope,
    subject: string,
  ): Promise<{ failures: number; lockedOut: boolean }> {
    await sql`
      INSERT INTO login_failures (scope, subject, failures, first_at, locked_until)
      VALUES (${scope}, ${subject}, 0, now(), 'epoch') ON CONFLICT DO NOTHING`;
    const [row] = await sql<CounterRow[]>`
      SELECT failures, (extract(epoch FROM first_at) * 1000)::bigint AS first_at,
             (extract(epoch FROM locked_until) * 1000)::bigint AS locked_until,
             (extract(epoch FROM now()) * 1000)::bigint AS now
      FROM login_failures WHERE scope = ${scope} AND subject = ${subject} FOR UPDATE`;
    const stored: Counter | undefined = row.failures === 0 ? undefined : {
      failures: row.failures,
      firstAt: row.first_at,
      lockedUntil: row.locked_until,
    };
    const { counter, lockedOut } = countFailure(stored, row.now, scope, this.#options);
    await sql`
      UPDATE login_failures SET failures = ${counter.failures},
        first_at = to_timestamp(${counter.firstAt}::float8 / 1000),
        locked_until = to_timestamp(${counter.lockedUntil}::float8 / 1000)
      WHERE scope = ${scope} AND subject = ${subject}`;
    return { failures: counter.failures, lockedOut };
  }

  /** Deletes counters no longer current, at most once a minute per node; a failure to do so waits for the next. */
  #cleanUpNowAndThen(): void {
    if (Date.now() - this.#lastCleanup < CLEANUP_EVERY_MS) return;
    this.#lastCleanup = Date.now();
    const windowSeconds = this.#options.windowMs / 1000;
    this.#database.run((sql) =>
      sql`DELETE FROM login_failures
          WHERE locked_until <= now() AND first_at < now() - make_interval(secs => ${windowSeconds})`
    ).catch(() => {});
  }
}

/** The rows a login's failure counts against, in locking order. */
function keys(user: string, address: string): [FailureScope, string][] {
  return [["user", subjectOf(user)], ["address", subjectOf(address)]];
}

/** A user name or address as stored: as it is, or its SHA-256 when too long or holding NUL. */
function subjectOf(name: string): string {
  if (name.length <= MAX_SUBJECT_LENGTH && !name.includes("\0")) return name;
  return `sha256:${createHash("sha256").update(name).digest("hex")}`;
}
