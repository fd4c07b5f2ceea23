/**
 * The quota across the nodes of a site on the object store (`--database`):
 * every upload under way on any node holds a reservation
 * (`quota_reservations`: node, reservation, user, bytes, expiry) that its
 * node renews while the upload runs and deletes when it ends. A reservation
 * is checked and made in one transaction under a per-user advisory lock:
 * the user's unexpired reservations are summed first, then the usage the
 * metadata records (quota_usage.ts), so an upload that committed and
 * released meanwhile is counted once, never missed. A node that dies stops
 * renewing: its reservations expire after {@link DEFAULT_RESERVATION_MS}.
 *
 * Nothing is cached: every check reads the database, so space freed on one
 * node is free on every node at once, and a check that cannot reach the
 * database fails (retryably) rather than let an upload past the quota.
 *
 * @module
 */

import type { QuotaBook, QuotaHold } from "../server/quota.ts";
import type { Database } from "./database.ts";
import { usageIn } from "./quota_usage.ts";

/** How long a reservation lasts unless renewed, ms. */
export const DEFAULT_RESERVATION_MS = 30_000;
/** First key of the per-user advisory locks ("DFQU"); the second is the user name's hash. */
const QUOTA_LOCK_CLASS = 0x44465155;

/** Options of {@link QuotaReservations}; every field has a default. */
export interface QuotaReservationsOptions {
  /** How long a reservation lasts unless renewed, ms. Default {@link DEFAULT_RESERVATION_MS}. */
  leaseMs?: number;
  /** How often the reservations are renewed, ms. Default a third of `leaseMs`. */
  renewMs?: number;
  /** Told when a renewal fails (the database away); the next one tries again. Default: nothing. */
  onRenewError?: (error: unknown) => void;
}

/** A reservation this node holds. */
interface Held {
  user: string;
  bytes: number;
}

/** One node's quota reservations in the shared database. */
export class QuotaReservations implements QuotaBook {
  /** This node's id, new at every start. */
  readonly nodeId: string = crypto.randomUUID();
  readonly #database: Database;
  readonly #leaseMs: number;
  readonly #onRenewError: (error: unknown) => void;
  /** Reservation id → what it holds, of the uploads under way here. */
  readonly #live = new Map<string, Held>();
  /** Reservations being made now (not renewed: not made yet; not deleted: maybe made). */
  readonly #claiming = new Set<string>();
  /** Whether this node may have rows of ended uploads left (a delete or a hold that failed). */
  #stale = false;
  /** The renewal running now, if any. */
  #renewing: Promise<void> | undefined;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(database: Database, options: QuotaReservationsOptions = {}) {
    this.#database = database;
    this.#leaseMs = options.leaseMs ?? DEFAULT_RESERVATION_MS;
    this.#onRenewError = options.onRenewError ?? (() => {});
    const renewMs = options.renewMs ?? Math.max(1, Math.floor(this.#leaseMs / 3));
    this.#timer = setInterval(() => this.renew(), renewMs);
    Deno.unrefTimer(this.#timer);
  }

  async hold(user: string, _storage: unknown, bytes: number, quota: number): Promise<QuotaHold> {
    const id = crypto.randomUUID();
    this.#claiming.add(id);
    try {
      const used = await this.#tryHold(id, user, bytes, quota);
      if (used !== undefined) return { used };
      this.#live.set(id, { user, bytes });
      return { release: () => void this.#release(id) };
    } catch (error) {
      this.#stale = true; // Its commit may have happened all the same.
      throw error;
    } finally {
      this.#claiming.delete(id);
    }
  }

  /** Usage is read at every check: nothing to forget. */
  forget(): void {}

  /** Usage is read at every check: nothing to take off. */
  discarded(): void {}

  /**
   * Extends every reservation of an upload under way here (one that expired
   * while the database was away is made again) and deletes this node's
   * reservations of uploads that ended (whose delete failed). Resolves when
   * done or failed.
   */
  renew(): Promise<void> {
    // One at a time: a renewal asked for while one runs is that one.
    this.#renewing ??= this.#renewOnce().finally(() => this.#renewing = undefined);
    return this.#renewing;
  }

  /** One renewal (a release waits for it: see {@link #release}). */
  async #renewOnce(): Promise<void> {
    if (this.#live.size === 0 && !this.#stale) return; // Nothing to renew, nothing left over.
    this.#stale = false;
    const ids = [...this.#live.keys()];
    const held = [...this.#live.values()];
    const kept = [...ids, ...this.#claiming];
    try {
      await this.#database.transaction(async (sql) => {
        await sql`
          INSERT INTO quota_reservations (node_id, reservation_id, user_name, bytes, expires_at)
          SELECT ${this.nodeId}::uuid, id, name, bytes,
                 clock_timestamp() + make_interval(secs => ${this.#leaseMs / 1000})
          FROM unnest(${ids}::uuid[], ${held.map((hold) => hold.user)}::text[],
                      ${held.map((hold) => hold.bytes)}::bigint[]) AS live (id, name, bytes)
          ON CONFLICT (node_id, reservation_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`;
        await sql`
          DELETE FROM quota_reservations
          WHERE node_id = ${this.nodeId} AND NOT (reservation_id = ANY(${kept}::uuid[]))`;
      });
    } catch (error) {
      this.#stale = true;
      this.#onRenewError(error);
    }
  }

  /** Stops renewing; the reservations still held end with their uploads (or expire). */
  close(): void {
    clearInterval(this.#timer);
  }

  /** Makes reservation `id` if it fits; else resolves to the bytes used and held. */
  #tryHold(id: string, user: string, bytes: number, quota: number): Promise<number | undefined> {
    return this.#database.transaction(async (sql) => {
      await sql`SELECT pg_advisory_xact_lock(${QUOTA_LOCK_CLASS}, hashtext(${user}))`;
      await sql`
        DELETE FROM quota_reservations
        WHERE user_name = ${user} AND expires_at <= clock_timestamp()`;
      // Holds before usage: an upload that ends commits its bytes before it lets go of its hold.
      // Every hold left counts, one that expired since the delete too: judged at a second
      // instant, it would count as neither deleted nor held (a reservation granted while the
      // expired row stays behind, seen under load).
      const [{ held }] = await sql<{ held: number }[]>`
        SELECT coalesce(sum(bytes), 0)::bigint AS held FROM quota_reservations
        WHERE user_name = ${user}`;
      const used = await usageIn(sql, user) + Number(held);
      if (used + bytes > quota) return used;
      await sql`
        INSERT INTO quota_reservations (node_id, reservation_id, user_name, bytes, expires_at)
        VALUES (${this.nodeId}, ${id}, ${user}, ${bytes},
                clock_timestamp() + make_interval(secs => ${this.#leaseMs / 1000}))`;
      return undefined;
    });
  }

  /**
   * Ends a reservation; a failed delete is left to the next renewal (or the
   * expiry). A renewal running now may have read it as live and write it
   * again: the delete waits for that renewal to end.
   */
  async #release(id: string): Promise<void> {
    this.#live.delete(id);
    await this.#renewing;
    try {
      await this.#database.run((sql) =>
        sql`DELETE FROM quota_reservations
            WHERE node_id = ${this.nodeId} AND reservation_id = ${id}`
      );
    } catch {
      this.#stale = true; // The next renewal deletes it, or it expires.
    }
  }
}
