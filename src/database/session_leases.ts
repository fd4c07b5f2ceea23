/**
 * The per-user session limit across the nodes of a site: every open session
 * holds a lease (`session_leases`: node, session, user, expiry) that its node
 * renews while the session lives and deletes when it ends. A login counts
 * the user's unexpired leases and adds its own in one transaction under a
 * per-user advisory lock, so two nodes cannot both hand out the last slot. A
 * node that dies stops renewing: its leases expire after
 * {@link DEFAULT_LEASE_MS} and their slots are free again.
 *
 * A login at the limit waits up to the grace the caller gives for a slot to
 * free: woken at once by a session closing on this node, and looking again
 * every {@link DEFAULT_POLL_MS} for one closing on another.
 *
 * @module
 */

import type { SessionLimit } from "../server/handshake.ts";
import type { Database } from "./database.ts";
import { KeyWaiters } from "../shared/key_waiters.ts";

/** How long a lease lasts unless renewed, ms. */
export const DEFAULT_LEASE_MS = 30_000;
/** How often a node renews its leases, ms. */
export const DEFAULT_RENEW_MS = 10_000;
/** How often a login at the limit looks again for a slot freed on another node, ms. */
export const DEFAULT_POLL_MS = 200;
/** First key of the per-user advisory locks ("DFSL"); the second is the user name's hash. */
const SESSION_LOCK_CLASS = 0x4446534c;

/** Options of {@link SessionLeases}; every field has a default. */
export interface SessionLeasesOptions {
  /** How long a lease lasts unless renewed, ms. Default {@link DEFAULT_LEASE_MS}. */
  leaseMs?: number;
  /** How often the leases are renewed, ms. Default {@link DEFAULT_RENEW_MS}. */
  renewMs?: number;
  /** How often a waiting login looks again, ms. Default {@link DEFAULT_POLL_MS}. */
  pollMs?: number;
  /** Told when a renewal fails (the database away); the next one tries again. Default: nothing. */
  onRenewError?: (error: unknown) => void;
}

/** One node's session leases. */
export class SessionLeases implements SessionLimit {
  /** This node's id, new at every start. */
  readonly nodeId: string = crypto.randomUUID();
  readonly #database: Database;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #onRenewError: (error: unknown) => void;
  /** Session id → user, of the sessions open on this node. */
  readonly #live = new Map<string, string>();
  /** Sessions whose lease a login here is taking now (not renewed: not taken yet). */
  readonly #claiming = new Set<string>();
  readonly #waiting = new KeyWaiters<string>();
  readonly #timer: ReturnType<typeof setInterval>;
  /** The renewal running now, if any: one at a time, and a release waits for it. */
  #renewing: Promise<void> | undefined;

  constructor(database: Database, options: SessionLeasesOptions = {}) {
    this.#database = database;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#onRenewError = options.onRenewError ?? (() => {});
    this.#timer = setInterval(() => this.renew(), options.renewMs ?? DEFAULT_RENEW_MS);
    Deno.unrefTimer(this.#timer);
  }

  async claim(user: string, limit: number, graceMs: number): Promise<(() => void) | undefined> {
    const deadline = Date.now() + graceMs;
    for (;;) {
      const session = await this.#tryClaim(user, limit);
      if (session !== undefined) return () => void this.#release(user, session);
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await this.#waiting.wait(user, Math.min(left, this.#pollMs));
    }
  }

  /**
   * Extends the lease of every session open here and deletes this node's
   * leases of sessions that ended (whose delete failed); one that expired
   * while the database was away is taken again. Resolves when done or failed;
   * a call while one runs resolves with that one.
   */
  renew(): Promise<void> {
    this.#renewing ??= this.#renewNow().finally(() => this.#renewing = undefined);
    return this.#renewing;
  }

  async #renewNow(): Promise<void> {
    const sessions = [...this.#live.keys()];
    const users = [...this.#live.values()];
    try {
      await this.#database.transaction(async (sql) => {
        await sql`
          INSERT INTO session_leases (node_id, session_id, user_name, expires_at)
          SELECT ${this.nodeId}::uuid, session, name,
                 clock_timestamp() + make_interval(secs => ${this.#leaseMs / 1000})
          FROM unnest(${sessions}::uuid[], ${users}::text[]) AS live (session, name)
          ON CONFLICT (node_id, session_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`;
        await sql`
          DELETE FROM session_leases
          WHERE node_id = ${this.nodeId} AND NOT (session_id = ANY(${sessions}::uuid[]))`;
      });
    } catch (error) {
      this.#onRenewError(error);
    }
  }

  /** Stops renewing; the leases still held end with their sessions (or expire). */
  close(): void {
    clearInterval(this.#timer);
  }

  /** Takes a lease if `user` has fewer than `limit` unexpired ones; resolves to its session id. */
  async #tryClaim(user: string, limit: number): Promise<string | undefined> {
    const session = crypto.randomUUID();
    // Known from before its insert: a concurrent login here must not take it for a stale lease.
    this.#claiming.add(session);
    const taken = await this.#database.transaction(async (sql) => {
      await sql`SELECT pg_advisory_xact_lock(${SESSION_LOCK_CLASS}, hashtext(${user}))`;
      // This node's leases of sessions that ended while the database was away go first: their
      // delete failed, and the next renewal is up to a renewal period away.
      await sql`
        DELETE FROM session_leases
        WHERE node_id = ${this.nodeId} AND user_name = ${user}
          AND NOT (session_id = ANY(${[...this.#live.keys(), ...this.#claiming]}::uuid[]))`;
      const [{ open }] = await sql<{ open: number }[]>`
        SELECT count(*)::int AS open FROM session_leases
        WHERE user_name = ${user} AND expires_at > clock_timestamp()`;
      if (open >= limit) return false;
      await sql`
        INSERT INTO session_leases (node_id, session_id, user_name, expires_at)
        VALUES (${this.nodeId}, ${session}, ${user},
                clock_timestamp() + make_interval(secs => ${this.#leaseMs / 1000}))`;
      return true;
    }).finally(() => this.#claiming.delete(session));
    if (taken) this.#live.set(session, user);
    return taken ? session : undefined;
  }

  /** Ends a session's lease, then wakes the logins of its user waiting here. */
  async #release(user: string, session: string): Promise<void> {
    this.#live.delete(session);
    // A renewal under way took the session for live: deleted before it, the lease came back.
    await this.#renewing;
    try {
      await this.#database.run((sql) =>
        sql`DELETE FROM session_leases WHERE node_id = ${this.nodeId} AND session_id = ${session}`
      );
    } catch {
      // The next renewal deletes it, or it expires.
    }
    this.#waiting.wakeAll(user);
  }
}
