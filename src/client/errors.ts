/**
 * Client failures and their exit codes, decided in one place (README "Exit codes").
 *
 * | code | meaning |
 * |------|---------|
 * | 0 | success |
 * | 1 | the operation failed (not found, exists, not empty, not allowed, checksum) |
 * | 2 | usage error |
 * | 3 | authentication failed |
 * | 4 | could not connect, server busy, or connection lost |
 * | 130 | interrupted (Ctrl-C) |
 *
 * @module
 */

import { ClosedMidFrame, ProtocolError } from "../protocol/protocol_error.ts";
import { STATUS, statusName } from "../protocol/status.ts";

/** Exit codes of `dfos client`. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  AUTH: 3,
  CONNECTION: 4,
  INTERRUPTED: 130,
} as const;

/** The server answered a request with an `Error` status. */
export class RemoteError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "RemoteError";
  }

  get status(): string {
    return statusName(this.code);
  }
}

/** The connection could not be made, or broke. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}

/** The command line was wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The user interrupted the command (Ctrl-C); what it moved so far is kept for a resume. */
export class CancelledError extends Error {
  constructor(message = "cancelled") {
    super(message);
    this.name = "CancelledError";
  }
}

/** A local file problem (not found, exists, permission). */
export class LocalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalError";
  }
}

/** A transfer not made because its local target exists and -f was not given. */
export class LocalTargetExists extends LocalError {
  constructor(path: string) {
    super(`${path}: already exists locally (use -f to replace it)`);
    this.name = "LocalTargetExists";
  }
}

/** Whether `error` refused a transfer because its target exists, on either side (no -f). */
export function isTargetExists(error: unknown): boolean {
  if (error instanceof RemoteError) return error.code === STATUS.EXISTS;
  return error instanceof LocalTargetExists;
}

const CONNECTION_STATUSES = new Set<number>([
  STATUS.SERVER_BUSY,
  STATUS.SESSION_LIMIT,
  STATUS.SHUTTING_DOWN,
  STATUS.PROTOCOL_ERROR,
  STATUS.UNSUPPORTED_VERSION,
  STATUS.TIMEOUT,
]);

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof CancelledError) return EXIT.INTERRUPTED;
  if (error instanceof ConnectionError) return EXIT.CONNECTION;
  if (error instanceof RemoteError) {
    if (error.code === STATUS.AUTH_FAILED) return EXIT.AUTH;
    if (CONNECTION_STATUSES.has(error.code)) return EXIT.CONNECTION;
  }
  return EXIT.FAILED;
}

/**
 * How a connection that broke under the client is described: the ordinary
 * ways (the server closed it, or reset it) in plain words, not in the
 * runtime's or the TLS library's (whose end-of-stream error carries a URL
 * about close_notify); anything else with its own message.
 */
export function connectionLostReason(error: unknown): string {
  if (peerClosed(error)) return "the server closed the connection";
  if (error instanceof Deno.errors.ConnectionReset) return "the connection was reset";
  if (error instanceof Deno.errors.ConnectionAborted) return "the connection was aborted";
  return error instanceof Error ? error.message : String(error);
}

/** An end of stream, a closed pipe, or TLS's complaint of an end without close_notify. */
function peerClosed(error: unknown): boolean {
  if (error instanceof Deno.errors.UnexpectedEof || error instanceof Deno.errors.BrokenPipe) {
    return true;
  }
  return error instanceof ClosedMidFrame ||
    (error instanceof Error && error.message.includes("close_notify"));
}

/**
 * The error that ends every request still waiting when a logged-in
 * connection ends: "the server shut down" once the server has announced
 * its shutdown (whatever the socket then did), else what happened to it
 * (`cause` undefined: the server closed it cleanly).
 */
export function connectionEnded(cause: unknown, serverShutDown: boolean): ConnectionError {
  if (serverShutDown) return new ConnectionError("the server shut down");
  if (cause === undefined) return new ConnectionError("connection closed by the server");
  if (cause instanceof ProtocolError && !(cause instanceof ClosedMidFrame)) {
    return new ConnectionError(`protocol error: ${cause.message}`);
  }
  return new ConnectionError(`connection lost: ${connectionLostReason(cause)}`);
}

/**
 * `error` itself, or, if it is a {@link RemoteError} with status `code`,
 * the same status in the words `say` gives: the server's message said in
 * terms of this client's commands and flags.
 */
export function rephrase(error: unknown, code: number, say: (message: string) => string): unknown {
  if (!(error instanceof RemoteError) || error.code !== code) return error;
  return new RemoteError(code, say(error.message));
}

/** The "why" part of `dfos: <what>: <why>`. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Turns a local filesystem error into a one-line {@link LocalError}. */
export function localError(error: unknown, path: string): Error {
  if (error instanceof Deno.errors.NotFound) {
    return new LocalError(`${path}: no such local file or directory`);
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return new LocalError(`${path}: already exists locally`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new LocalError(`${path}: permission denied`);
  }
  if (error instanceof Deno.errors.IsADirectory) return new LocalError(`${path}: is a directory`);
  if (error instanceof Deno.errors.NotADirectory) {
    return new LocalError(`${path}: not a directory`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
