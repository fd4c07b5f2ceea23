/**
 * Connection set-up, PROTOCOL.md §5.1: `Hello`/`Welcome`, waiting for a slot
 * (with `Queued` position reports), then `Auth` and its password check.
 * What the peer must send runs under deadlines, so a client that never
 * finishes the handshake cannot hold a connection; what the server makes it
 * wait for (a slot, a password check) has bounds of its own instead.
 *
 * @module
 */

import { MAGIC, MAX_FRAME_SIZE, PROTOCOL_VERSION } from "../protocol/constants.ts";
import { DEFAULT_CHUNK_SIZE } from "../protocol/constants.ts";
import { decode, encode, type Frame, messageName, Messages } from "../protocol/messages.ts";
import type { FrameReader } from "../protocol/frame_reader.ts";
import type { FrameWriter } from "../protocol/frame_writer.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { STATUS } from "../protocol/status.ts";
import { type Authenticator, CheckQueueBusyError } from "../auth/authenticator.ts";
import {
  DEMO_PASSWORD_REFUSAL,
  isDemoPassword,
  isLoopbackAddress,
} from "../auth/demo_passwords.ts";
import type { CheckPositionListener } from "../auth/check_queue.ts";
import { auditLog, serverLog } from "../log/logging.ts";
import { type Admission, QueueFullError } from "./admission.ts";
import { DeadlineError, withDeadline } from "./deadline.ts";
import { serverCapabilities } from "./handlers.ts";
import type { LoginResult, ServerMetrics } from "./metrics.ts";
import type { ServerConfig } from "./server_config.ts";
import type { LoginFailures } from "./login_guard.ts";
import { DatabaseUnavailableError } from "../database/database_errors.ts";
import type { ServerStream } from "../transport/server_stream.ts";
import { plural } from "../shared/plural.ts";
import { KeyWaiters } from "../shared/key_waiters.ts";
import type { UnauthenticatedGate } from "./unauthenticated_gate.ts";

/** One accepted connection and its framing. */
export interface Link {
  /** The byte stream (TLS or plain TCP). */
  conn: ServerStream;
  reader: FrameReader;
  writer: FrameWriter;
  /** "address:port" of the peer, for logs. */
  remote: string;
  /** The peer's address without the port: what failed logins are counted by. */
  address: string;
  close(): void;
}

/** Shared server state the handshake needs. */
export interface HandshakeEnvironment {
  config: ServerConfig;
  guard: LoginFailures;
  /** Connections between accept and login, and the refusals beyond `--max-unauthenticated`. */
  unauthenticated: UnauthenticatedGate;
  admission: Admission;
  authenticator: Authenticator;
  metrics: ServerMetrics;
  userSessions: SessionLimit;
  shutdown: AbortSignal;
}

/** A logged-in client, holding a slot until `release`. */
export interface Admitted {
  user: string;
  /** What the client said it supports in `Hello`. */
  capabilities: string[];
  /** Frees the user's session slot and the connection slot. */
  release(): void;
}

/**
 * How long a login at the session limit waits for a slot to free up. A client that was killed
 * and started again at once logs in while the server is still closing its old session (the
 * transfers in flight finish, the journal is released): that slot frees within moments, and the
 * new login should take it rather than be refused. A session that is really open does not close
 * in this time, so a refusal costs the peer this much extra wait.
 */
export const SESSION_SLOT_GRACE_MS = 2_000;

/**
 * Where `--max-sessions-per-user` is counted: in this process
 * ({@link UserSessions}), or across nodes in the shared database
 * (database/session_leases.ts).
 */
export interface SessionLimit {
  /**
   * Takes one of `user`'s `limit` session slots, waiting up to `graceMs` for
   * one to free at the limit; resolves to the slot's release, or undefined
   * when none freed in time.
   */
  claim(user: string, limit: number, graceMs: number): Promise<(() => void) | undefined>;
}

/** Counts open sessions per user against `--max-sessions-per-user`, in this process. */
export class UserSessions implements SessionLimit {
  async claim(user: string, limit: number, graceMs: number): Promise<(() => void) | undefined> {
    return await this.open(user, limit, graceMs) ? () => this.close(user) : undefined;
  }

  #open = new Map<string, number>();
  #waiting = new KeyWaiters<string>();

  tryOpen(user: string, limit: number): boolean {
    const count = this.#open.get(user) ?? 0;
    if (count >= limit) return false;
    this.#open.set(user, count + 1);
    return true;
  }

  /** As `tryOpen`, but at the limit waits up to `graceMs` for one of the user's sessions to close. */
  async open(user: string, limit: number, graceMs: number): Promise<boolean> {
    const deadline = Date.now() + graceMs;
    while (!this.tryOpen(user, limit)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#waiting.wait(user, left);
    }
    return true;
  }

  close(user: string): void {
    const count = (this.#open.get(user) ?? 1) - 1;
    if (count <= 0) this.#open.delete(user);
    else this.#open.set(user, count);
    this.#waiting.wakeAll(user);
  }
}

/** A refusal to send before closing: status, message, and how long to make the peer wait. */
class Refusal extends Error {
  constructor(readonly code: number, message: string, readonly delayMs = 0) {
    super(message);
  }
}

/** Runs the handshake; resolves to the admitted user, or null when the connection should close. */
export async function admitClient(link: Link, env: HandshakeEnvironment): Promise<Admitted | null> {
  const gate = env.unauthenticated;
  if (!gate.enter(link, env.config.maxUnauthenticated)) return null;
  let release: (() => void) | undefined;
  try {
    const capabilities = await greet(link, env);
    if (!capabilities) return null;
    const firstFrame = link.reader.next();
    gate.leave(link); // Time in the queue is bounded by the queue itself.
    release = await waitForSlot(link, env, firstFrame).finally(() => gate.rejoin(link));
    const { user, endSession } = await login(link, env, firstFrame);
    const releaseSlot = release;
    return {
      user,
      capabilities,
      release: () => {
        endSession();
        releaseSlot();
      },
    };
  } catch (error) {
    release?.();
    const refusal = asRefusal(error);
    if (refusal?.delayMs) await new Promise((resolve) => setTimeout(resolve, refusal.delayMs));
    if (refusal) {
      const reply = encode(Messages.Error, 0, { code: refusal.code, message: refusal.message });
      // Bounded: a peer that reads nothing would hold this write (and its slot). One that never
      // finished TLS fails it at once: there is nobody to tell (TlsServerStream.write).
      await withDeadline(link.writer.send(reply), REFUSAL_WRITE_MS, "sending a refusal")
        .catch(() => {});
    }
    serverLog[error instanceof Refusal ? "debug" : "info"](
      "handshake with {remote} ended: {error}",
      {
        remote: link.remote,
        error: error instanceof Error ? error.message : String(error),
      },
    );
    return null;
  } finally {
    gate.leave(link);
  }
}

/** How long a refusal may take to send before the connection is just closed. */
const REFUSAL_WRITE_MS = 2_000;

/** The `Error` to send before closing, if the failure deserves one. */
function asRefusal(error: unknown): Refusal | undefined {
  if (error instanceof Refusal) return error;
  if (error instanceof ProtocolError) return new Refusal(STATUS.PROTOCOL_ERROR, error.message);
  if (error instanceof DeadlineError) return new Refusal(STATUS.TIMEOUT, error.message);
  if (error instanceof DatabaseUnavailableError) {
    // Nothing was decided: the same login may well work in a moment, on this node or another.
    return new Refusal(STATUS.SERVER_BUSY, `server busy: cannot log in now (${error.message})`);
  }
  return undefined; // The peer went away: nobody to tell.
}

/** Reads `Hello`, answers `Welcome`; resolves to the client's capabilities, or null if it left. */
async function greet(link: Link, env: HandshakeEnvironment): Promise<string[] | null> {
  const frame = await withDeadline(link.reader.next(), env.config.loginTimeoutMs, "handshake");
  if (!frame) return null;
  if (frame.type !== Messages.Hello.type) {
    throw new Refusal(STATUS.PROTOCOL_ERROR, `expected Hello, got ${messageName(frame.type)}`);
  }
  const hello = decode(Messages.Hello, frame);
  if (hello.magic !== MAGIC) throw new Refusal(STATUS.PROTOCOL_ERROR, "not a DFOS client");
  if (hello.version !== PROTOCOL_VERSION) {
    throw new Refusal(
      STATUS.UNSUPPORTED_VERSION,
      `protocol version ${hello.version} is not supported; this server speaks ${PROTOCOL_VERSION}`,
    );
  }
  if (env.shutdown.aborted) throw new Refusal(STATUS.SHUTTING_DOWN, "the server is shutting down");
  await link.writer.send(encode(Messages.Welcome, 0, {
    version: PROTOCOL_VERSION,
    serverName: env.config.serverName,
    capabilities: serverCapabilities(),
    maxFrameSize: MAX_FRAME_SIZE,
    chunkSize: DEFAULT_CHUNK_SIZE,
  }));
  return hello.capabilities;
}

async function waitForSlot(
  link: Link,
  env: HandshakeEnvironment,
  firstFrame: Promise<Frame | null>,
): Promise<() => void> {
  const gone = new AbortController();
  firstFrame.then(
    (frame) => frame ?? gone.abort(new Error("client left while waiting")),
    (error) => gone.abort(error),
  );
  const onShutdown = () =>
    gone.abort(new Refusal(STATUS.SHUTTING_DOWN, "the server is shutting down"));
  env.shutdown.addEventListener("abort", onShutdown, { once: true });
  const reportPosition = (position: number, waiting: number) => {
    env.metrics.queued = env.admission.waiting;
    link.writer.send(encode(Messages.Queued, 0, { position, waiting })).catch(() => {});
  };
  try {
    return await withDeadline(
      env.admission.acquire(reportPosition, gone.signal),
      env.config.queueTimeoutMs,
      "waiting for a free slot",
      () => gone.abort(new Refusal(STATUS.SERVER_BUSY, "server busy: waited too long for a slot")),
    );
  } catch (error) {
    if (error instanceof QueueFullError) throw new Refusal(STATUS.SERVER_BUSY, error.message);
    throw gone.signal.reason instanceof Refusal ? gone.signal.reason : error;
  } finally {
    env.metrics.queued = env.admission.waiting;
    env.shutdown.removeEventListener("abort", onShutdown);
  }
}

/** Refuses locked-out names and addresses, and wrong passwords (after a growing delay). */
async function checkPassword(
  link: Link,
  env: HandshakeEnvironment,
  user: string,
  password: string,
) {
  const audit = (counted: LoginResult, result: string, delayMs?: number) => {
    env.metrics.logins[counted]++;
    auditLog.warn("login of {user} from {remote}: {result}", {
      event: "login",
      user,
      remote: link.remote,
      result,
      delayMs,
    });
  };
  const refuseIfLockedOut = async () => {
    const lockout = await env.guard.check(user, link.address);
    if (!lockout) return;
    audit("locked_out", `refused: ${lockout.scope} locked out`);
    const who = lockout.scope === "user" ? "for this user" : "from your address";
    const seconds = Math.ceil(lockout.retryAfterMs / 1000);
    throw new Refusal(
      STATUS.AUTH_FAILED,
      `too many failed logins ${who}; try again in ${seconds} s`,
    );
  };
  await refuseIfLockedOut();
  let matches: boolean;
  const progress = new LoginProgress(link);
  try {
    matches = await env.authenticator.verify(user, password, progress.onPosition);
  } catch (error) {
    if (!(error instanceof CheckQueueBusyError)) throw error;
    // Not a failed login: nothing was checked, and the same happens to every user.
    audit("busy", "refused: server busy");
    throw new Refusal(STATUS.SERVER_BUSY, error.message);
  } finally {
    progress.stop();
  }
  if (matches) {
    // Guesses that were waiting for their check when a lockout began are refused too.
    await refuseIfLockedOut();
    const refusedDemo = (result: string) => audit("demo_password_remote", result);
    refuseDemoPasswordFromAfar(link, user, password, refusedDemo);
    await env.guard.recordSuccess(user);
    return;
  }
  const verdict = await env.guard.recordFailure(user, link.address);
  audit("bad_credentials", "failed", verdict.delayMs);
  serverLog.warn("failed login for {user} from {remote}", { user, remote: link.remote });
  if (verdict.lockedOut) {
    const { scope, retryAfterMs } = verdict.lockedOut;
    env.metrics.lockouts[scope]++;
    const subject = scope === "user" ? user : link.address;
    auditLog.warn("{scope} {subject} locked out for {durationMs} ms", {
      event: "lockout",
      subject,
      scope,
      user,
      remote: link.remote,
      durationMs: retryAfterMs,
    });
    serverLog.warn("locked out {scope} {subject} for {seconds} s", {
      scope,
      subject,
      seconds: retryAfterMs / 1000,
    });
  }
  throw new Refusal(STATUS.AUTH_FAILED, "wrong user name or password", verdict.delayMs);
}

/**
 * A documented demo password lets in only a client on this machine
 * (demo_passwords.ts). Not a guess: the password was right, so it counts
 * toward no lockout, but the login fails as one that was refused.
 */
function refuseDemoPasswordFromAfar(
  link: Link,
  user: string,
  password: string,
  audit: (result: string) => void,
): void {
  if (!isDemoPassword(password) || isLoopbackAddress(link.address)) return;
  audit("refused: demo password from another machine");
  serverLog.warn(
    "refused {user} from {remote}: a demo password is accepted from this machine only",
    { user, remote: link.remote },
  );
  throw new Refusal(STATUS.AUTH_FAILED, DEMO_PASSWORD_REFUSAL);
}

/** After how long a peer whose `Auth` the server is still working on hears so (`Queued`). */
const LOGIN_PROGRESS_AFTER_MS = 1_000;
/** How often it hears so again until it is answered. */
const LOGIN_PROGRESS_EVERY_MS = 5_000;

/**
 * Tells a peer that its login is in progress while its password check waits
 * its turn or runs: quick logins stay silent; a slower one gets `Queued` after
 * {@link LOGIN_PROGRESS_AFTER_MS} and every {@link LOGIN_PROGRESS_EVERY_MS}
 * after that, so the client knows to keep waiting. Position 0 tells it apart
 * from a place in the slot queue; `waiting` carries the login's place in line
 * for a check (0 once its check runs).
 */
class LoginProgress {
  #link: Link;
  #place = 0;
  #timer: ReturnType<typeof setTimeout>;

  constructor(link: Link) {
    this.#link = link;
    this.#timer = setTimeout(this.#send, LOGIN_PROGRESS_AFTER_MS);
  }

  readonly onPosition: CheckPositionListener = (position) => {
    this.#place = position;
  };

  stop(): void {
    clearTimeout(this.#timer);
  }

  #send = () => {
    const report = { position: 0, waiting: this.#place };
    this.#link.writer.send(encode(Messages.Queued, 0, report)).catch(() => {});
    this.#timer = setTimeout(this.#send, LOGIN_PROGRESS_EVERY_MS);
  };
}

async function login(
  link: Link,
  env: HandshakeEnvironment,
  firstFrame: Promise<Frame | null>,
): Promise<{ user: string; endSession: () => void }> {
  // The deadline covers what the peer has to send. Once its Auth is here, the wait for
  // a password check is the server's doing: the check queue bounds it (--max-check-wait).
  const frame = await withDeadline(firstFrame, env.config.loginTimeoutMs, "login");
  if (!frame) throw new Error("client left before logging in");
  if (frame.type !== Messages.Auth.type) {
    throw new Refusal(STATUS.PROTOCOL_ERROR, `expected Auth, got ${messageName(frame.type)}`);
  }
  const { user, password } = decode(Messages.Auth, frame);
  await checkPassword(link, env, user, password);
  const limit = env.config.maxSessionsPerUser;
  const endSession = await env.userSessions.claim(user, limit, SESSION_SLOT_GRACE_MS);
  if (endSession === undefined) {
    env.metrics.logins.session_limit++;
    auditLog.warn("login of {user} from {remote}: {result}", {
      event: "login",
      user,
      remote: link.remote,
      result: "session limit",
    });
    throw new Refusal(
      STATUS.SESSION_LIMIT,
      `${user} already has ${
        plural(env.config.maxSessionsPerUser, "open session")
      }, the most allowed`,
    );
  }
  return { user, endSession };
}
