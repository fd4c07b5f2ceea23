/**
 * The asking end of the control socket, for `dfos server status` and
 * `dfos server stop`: finds out whether a server is there at all, sends one
 * request and reads its replies, each within a time limit, and says in one
 * {@link ControlClientError} what went wrong.
 *
 * @module
 */

import { dirname } from "node:path";
import {
  CONTROL_TIMEOUT_MS,
  type ControlReply,
  type ControlRequestName,
  encodeLine,
  MAX_REPLY_BYTES,
  type StoppingReply,
} from "./control_protocol.ts";
import { LineChannel, LineChannelError } from "./line_channel.ts";
import type { ServerStatus } from "./status_report.ts";

/** What kind of failure: the CLI picks its exit code by this. */
export type ControlFailure =
  /** No socket, or nothing answers on it: no server runs with this state folder. */
  | "not-running"
  /** The socket or its folder belongs to another user. */
  | "denied"
  /** Something other than a socket has the socket's name. */
  | "not-a-socket"
  /** The server did not answer in time, or went away mid-answer, or answered nonsense. */
  | "no-answer"
  /** The server refused the request. */
  | "refused"
  /** `stop`: the server did not finish its shutdown and exit in time. */
  | "not-stopped";

/** A control request that did not do what was asked; the message says why. */
export class ControlClientError extends Error {
  constructor(readonly failure: ControlFailure, message: string) {
    super(message);
    this.name = "ControlClientError";
  }
}

/** Extra time `stop` waits beyond the server's grace period by default, ms. */
export const STOP_MARGIN_MS = 15_000;

/** Asks the server at `socketPath` for its status. */
export async function requestStatus(socketPath: string): Promise<ServerStatus> {
  const channel = await openRequest(socketPath, "status");
  try {
    const reply = await readReply(channel, CONTROL_TIMEOUT_MS);
    if (!("status" in reply) || typeof reply.status !== "object" || reply.status === null) {
      throw badReply("a status reply without a status");
    }
    return reply.status;
  } finally {
    channel.close();
  }
}

/** Options of {@link requestStop}. */
export interface StopOptions {
  /** Longest wait for the server to exit, ms. Default: its grace period plus {@link STOP_MARGIN_MS}. */
  timeoutMs?: number;
  /** Told once the server has begun (or had begun) its shutdown. */
  onStopping?: (reply: StoppingReply) => void;
}

/**
 * Asks the server at `socketPath` to shut down as SIGTERM does, and waits
 * until it has finished and its process has exited (its end of the
 * connection closes with the process). Resolves to its first reply.
 */
export async function requestStop(
  socketPath: string,
  options: StopOptions = {},
): Promise<StoppingReply> {
  const channel = await openRequest(socketPath, "stop");
  try {
    const stopping = await readReply(channel, CONTROL_TIMEOUT_MS);
    if (!("stopping" in stopping)) throw badReply("a stop reply that does not say it is stopping");
    options.onStopping?.(stopping);
    const timeoutMs = options.timeoutMs ?? stopping.graceSeconds * 1000 + STOP_MARGIN_MS;
    await awaitExit(channel, stopping, timeoutMs);
    return stopping;
  } finally {
    channel.close();
  }
}

/** Reads `stopped`, then the end of the connection (the exit), both within `timeoutMs`. */
async function awaitExit(channel: LineChannel, stopping: StoppingReply, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  const left = () => Math.max(1, deadline - performance.now());
  const { pid } = stopping;
  try {
    const stopped = await channel.readLine(left());
    if (stopped === null) {
      throw new ControlClientError(
        "not-stopped",
        `the server (pid ${pid}) went away before its shutdown finished`,
      );
    }
    if (!("stopped" in parseReply(stopped))) throw badReply("expected the end of the shutdown");
    await channel.readLine(left()).catch((error) => {
      // A reset is an end too: the process is gone.
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    });
  } catch (error) {
    if (error instanceof ControlClientError) throw error;
    if (error instanceof LineChannelError && error.reason === "timeout") {
      throw new ControlClientError(
        "not-stopped",
        `the server (pid ${pid}) has not stopped within ${
          Math.round(timeoutMs / 1000)
        } s; it may still be finishing transfers (see its log)`,
      );
    }
    throw new ControlClientError("no-answer", `the server's connection broke: ${messageOf(error)}`);
  }
}

/** Connects to the socket and sends the request; throws {@link ControlClientError}. */
async function openRequest(socketPath: string, request: ControlRequestName): Promise<LineChannel> {
  await checkSocketFile(socketPath);
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    throw connectFailure(socketPath, error);
  }
  const channel = new LineChannel(conn, MAX_REPLY_BYTES);
  try {
    await channel.write(encodeLine({ request }), CONTROL_TIMEOUT_MS);
  } catch (error) {
    channel.close();
    throw new ControlClientError("no-answer", `could not send the request: ${messageOf(error)}`);
  }
  return channel;
}

/** Refuses a missing name, a symbolic link and anything not a socket, before connecting. */
async function checkSocketFile(socketPath: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(socketPath);
  } catch (error) {
    throw connectFailure(socketPath, error);
  }
  if (info.isSymlink || !info.isSocket) {
    const kind = info.isSymlink ? "a symbolic link" : info.isDirectory ? "a folder" : "a file";
    throw new ControlClientError(
      "not-a-socket",
      `${socketPath} is ${kind}, not a control socket`,
    );
  }
}

/** The failure that `error`, met opening `socketPath`, means. */
export function connectFailure(socketPath: string, error: unknown): ControlClientError {
  const folder = dirname(socketPath);
  if (error instanceof Deno.errors.NotFound) {
    return new ControlClientError(
      "not-running",
      `no server is running with the state folder ${folder} (there is no ${socketPath})`,
    );
  }
  if (
    error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.ConnectionReset
  ) {
    return new ControlClientError(
      "not-running",
      `no server is running with the state folder ${folder}: nothing answers on ${socketPath} (left by a server that did not stop cleanly; the next start replaces it)`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ControlClientError(
      "denied",
      `permission denied: ${socketPath} is for the user the server runs as (run this as that user)`,
    );
  }
  return new ControlClientError(
    "no-answer",
    `cannot connect to ${socketPath}: ${messageOf(error)}`,
  );
}

/** The next reply, within `timeoutMs`; an `{"ok": false}` one is thrown as "refused". */
async function readReply(
  channel: LineChannel,
  timeoutMs: number,
): Promise<ControlReply & { ok: true }> {
  let line: string | null;
  try {
    line = await channel.readLine(timeoutMs);
  } catch (error) {
    throw new ControlClientError("no-answer", `the server did not answer: ${messageOf(error)}`);
  }
  if (line === null) {
    throw new ControlClientError("no-answer", "the server closed the connection without answering");
  }
  const reply = parseReply(line);
  if (!reply.ok) throw new ControlClientError("refused", `the server refused: ${reply.error}`);
  return reply;
}

function parseReply(line: string): ControlReply {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw badReply("not JSON");
  }
  if (
    typeof value !== "object" || value === null || typeof (value as ControlReply).ok !== "boolean"
  ) {
    throw badReply("not a reply object");
  }
  return value as ControlReply;
}

function badReply(why: string): ControlClientError {
  return new ControlClientError("no-answer", `the server's reply makes no sense: ${why}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
