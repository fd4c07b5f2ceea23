/**
 * The one mapping from the PostgreSQL driver's failures to the errors DFOS
 * reports. A database that cannot be reached, has gone away mid-request or
 * is starting up becomes {@link DatabaseUnavailableError} (retryable: the
 * next request may well work); a refused login says so. Messages name the
 * server by host and port only: never the URL, which may hold a password.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { StorageError } from "../storage/storage.ts";

/** Socket and driver codes that mean the server could not be reached or went away. */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
]);

/**
 * SQLSTATEs that mean "not now": connection exceptions (class 08), the server
 * shutting down or starting (57P01-57P03), too many connections (53300), and
 * a statement cancelled by its timeout (57014).
 */
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300|57014)$/;

/** SQLSTATEs of a transaction that lost a race and can simply run again. */
const RETRYABLE_STATES = new Set(["40001", "40P01"]);

/** The database cannot serve the request now; the same request may work later. */
export class DatabaseUnavailableError extends StorageError {
  /** Always true: callers and clients may try again. */
  readonly retryable = true;

  constructor(address: string, reason: string) {
    super(STATUS.IO_ERROR, `database unreachable at ${address} (${reason}); try again`);
    this.name = "DatabaseUnavailableError";
  }
}

/** The database refused to let DFOS in (wrong user or password, no such database). */
export class DatabaseLoginError extends Error {
  constructor(address: string, reason: string) {
    super(`the database at ${address} refused the login: ${reason}`);
    this.name = "DatabaseLoginError";
  }
}

/** What the driver gives: an Error with a socket code, or a PostgresError with a SQLSTATE. */
interface DriverError extends Error {
  code?: string;
  severity?: string;
}

/** Whether `error` is a transaction's serialization failure or deadlock (run it again). */
export function isRetryableConflict(error: unknown): boolean {
  return error instanceof Error && RETRYABLE_STATES.has((error as DriverError).code ?? "");
}

/** Whether `error` says the connection to the server is gone (or never came). */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof Error && UNREACHABLE_CODES.has((error as DriverError).code ?? "");
}

/** Whether `error` is a unique violation (another request made the same row first). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as DriverError).code === "23505";
}

/**
 * Turns a driver failure into a clear one: unreachable and not-now states
 * into {@link DatabaseUnavailableError}, refused logins into
 * {@link DatabaseLoginError}; anything else is returned as it is.
 */
export function describeDatabaseError(error: unknown, address: string): unknown {
  if (!(error instanceof Error) || error instanceof StorageError) return error;
  const code = (error as DriverError).code ?? "";
  if (UNREACHABLE_CODES.has(code)) return new DatabaseUnavailableError(address, code);
  if (UNAVAILABLE_STATES.test(code)) {
    return new DatabaseUnavailableError(address, `${code}: ${error.message}`);
  }
  if (code === "28P01" || code === "28000" || code === "3D000") {
    return new DatabaseLoginError(address, error.message);
  }
  return error;
}
