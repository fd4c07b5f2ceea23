/**
 * The connection to PostgreSQL that every node shares its state through: a
 * bounded pool of connections (npm `postgres`), each with timeouts so that no
 * request waits forever on a database that went away, and every failure
 * turned into a clear error (database_errors.ts) that never shows the
 * password of the URL.
 *
 * @module
 */

import postgres from "postgres";
import {
  DatabaseUnavailableError,
  describeDatabaseError,
  isConnectionLoss,
  isRetryableConflict,
} from "./database_errors.ts";

/** A connection (or a transaction) to run queries on: the driver's tagged template. */
export type Sql = postgres.Sql<Record<string, never>>;
/** The queries of one transaction. */
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

/** Options of {@link Database.open}; every field has a default. */
export interface DatabaseOptions {
  /** Most connections held open at once; further requests wait for one. Default 10. */
  maxConnections?: number;
  /** Longest wait to connect, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /** Longest a statement may run (waiting on locks included), ms. Default 15,000. */
  statementTimeoutMs?: number;
  /** An idle connection is closed after this long, ms. Default 60,000. */
  idleTimeoutMs?: number;
  /** Times a transaction that lost a serialization race is run again. Default 5. */
  conflictRetries?: number;
}

/** Options of {@link Database.transaction}. */
export interface TransactionOptions {
  /**
   * "read committed" (the default: each statement sees what was committed
   * before it), "snapshot" (read only, every statement sees one moment:
   * REPEATABLE READ) or "serializable".
   */
  isolation?: "read committed" | "snapshot" | "serializable";
}

const ISOLATION_MODES = {
  "read committed": "",
  snapshot: "isolation level repeatable read read only",
  serializable: "isolation level serializable",
} as const;

/** 64-bit integers (sizes, times, sequences) as numbers: every one DFOS keeps is below 2^53. */
const BIGINT_AS_NUMBER = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (text: string) => Number(text),
};

/** A pool of connections to one PostgreSQL database. */
export class Database {
  /** `host:port` of the server, for messages (never the URL: it may hold a password). */
  readonly address: string;
  readonly #sql: Sql;
  readonly #retries: number;

  private constructor(sql: Sql, address: string, retries: number) {
    this.#sql = sql;
    this.address = address;
    this.#retries = retries;
  }

  /**
   * Makes the pool for `url` (`postgres://user:password@host:port/database`).
   * Connects lazily: an unreachable server shows in the first request.
   *
   * @throws {TypeError} for a URL that is not a postgres:// URL (without repeating it).
   */
  static open(url: string, options: DatabaseOptions = {}): Database {
    const address = addressOf(url);
    const sql = postgres(url, {
      max: options.maxConnections ?? 10,
      connect_timeout: Math.ceil((options.connectTimeoutMs ?? 5_000) / 1000),
      idle_timeout: Math.ceil((options.idleTimeoutMs ?? 60_000) / 1000),
      connection: {
        application_name: "dfos",
        statement_timeout: options.statementTimeoutMs ?? 15_000,
        idle_in_transaction_session_timeout: options.statementTimeoutMs ?? 15_000,
      },
      types: { bigint: BIGINT_AS_NUMBER },
      onnotice: () => {},
    }) as unknown as Sql;
    return new Database(sql, address, options.conflictRetries ?? 5);
  }

  /** Runs one query (or several without a transaction) on a pooled connection. */
  async run<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      return await work(this.#sql);
    } catch (error) {
      throw describeDatabaseError(error, this.address);
    }
  }

  /**
   * Runs `work` in one transaction: all of it commits or none. A transaction
   * that lost a serialization race or a deadlock runs again (a few times); a
   * database that cannot be reached fails with {@link DatabaseUnavailableError}.
   */
  async transaction<T>(
    work: (sql: TransactionSql) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const mode = ISOLATION_MODES[options.isolation ?? "read committed"];
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#sql.begin(mode, (sql) => work(sql).catch(holdIfConnectionLost)) as T;
      } catch (error) {
        if (isRetryableConflict(error) && attempt < this.#retries) continue;
        throw describeDatabaseError(error, this.address);
      }
    }
  }

  /**
   * Calls `onMessage` with the payload of every NOTIFY on `channel`, on a
   * connection of its own that the driver re-opens (and listens on again)
   * after the database comes back. Resolves once listening.
   */
  async listen(
    channel: string,
    onMessage: (payload: string) => void,
  ): Promise<{ unlisten(): Promise<void> }> {
    try {
      return await this.#sql.listen(channel, onMessage);
    } catch (error) {
      throw describeDatabaseError(error, this.address);
    }
  }

  /** Closes every connection, waiting at most `timeoutMs` for queries running. Default 5,000. */
  async close(timeoutMs = 5_000): Promise<void> {
    await this.#sql.end({ timeout: timeoutMs / 1000 });
  }
}

/**
 * What a transaction's work does with its failure: rethrows it, unless the
 * connection is gone. Then it never settles, and the driver fails the
 * transaction itself with the connection's close (which it always reports):
 * a failure returned here would make the driver send ROLLBACK on the closed
 * connection, which in `postgres` 3.4.9 throws where nobody can catch it and
 * ends the process (porsager/postgres#1208).
 */
function holdIfConnectionLost(error: unknown): Promise<never> {
  if (isConnectionLoss(error)) return new Promise<never>(() => {});
  throw error;
}

/** `host:port` of a postgres:// URL; a malformed URL is refused without being repeated. */
function addressOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("the database URL is not a valid postgres://user@host:port/name URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new TypeError("the database URL must start with postgres:// or postgresql://");
  }
  return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`;
}

export { DatabaseUnavailableError };
