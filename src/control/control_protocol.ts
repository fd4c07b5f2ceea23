/**
 * The control socket's protocol (PROTOCOL.md §13): one JSON object per
 * line, UTF-8, each way. A client sends one request line; the server
 * answers with one reply line (`stop`: two, the second when the shutdown
 * has finished) and then closes the connection. Every read is bounded in
 * size and time.
 *
 * @module
 */

import type { ServerStatus } from "./status_report.ts";

/** The control protocol's version, in every status report. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** Longest request line the server reads, in bytes (with its newline). */
export const MAX_REQUEST_BYTES = 1024;

/** Longest reply line a client reads, in bytes: a status of thousands of sessions fits. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Time a client has to send its request after connecting, and to read each reply, ms. */
export const CONTROL_TIMEOUT_MS = 5_000;

/** Control connections open at once, `stop`s waiting for the end included; more are closed at once. */
export const MAX_CONTROL_CONNECTIONS = 32;

/** The requests, by name. */
export const CONTROL_REQUESTS = ["status", "stop"] as const;

/** A request's name. */
export type ControlRequestName = typeof CONTROL_REQUESTS[number];

/** A request line. */
export interface ControlRequest {
  request: ControlRequestName;
}

/** The first reply to `stop`: the shutdown has begun (or was already under way). */
export interface StoppingReply {
  ok: true;
  stopping: true;
  /** The server's process id. */
  pid: number;
  /** The time running transfers get to finish, s (`--shutdown-grace`). */
  graceSeconds: number;
  /** True if the shutdown was under way before this request. */
  alreadyStopping: boolean;
}

/** Every reply line there is. */
export type ControlReply =
  | { ok: true; status: ServerStatus }
  | StoppingReply
  | { ok: true; stopped: true }
  | { ok: false; error: string };

/** A request line that is not one: the server answers it with `{"ok": false, "error": …}`. */
export class ControlRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlRequestError";
  }
}

/** Reads a request line; throws {@link ControlRequestError} saying what is wrong with it. */
export function parseRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ControlRequestError("a request is one JSON object on one line");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ControlRequestError("a request is one JSON object on one line");
  }
  const request = (value as Record<string, unknown>).request;
  if (!CONTROL_REQUESTS.includes(request as ControlRequestName)) {
    throw new ControlRequestError(
      `unknown request ${JSON.stringify(request)}; known: ${CONTROL_REQUESTS.join(", ")}`,
    );
  }
  return { request: request as ControlRequestName };
}

/** `value` as one line of JSON, newline included. */
export function encodeLine(value: ControlRequest | ControlReply): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value)}\n`);
}
