/**
 * The DFOS server: accepts connections, admits them through the slot queue,
 * runs one {@link ServerSession} per logged-in client and shuts down
 * gracefully, letting running transfers finish within a grace period.
 *
 * @module
 */

import { join } from "node:path";
import { FrameReader } from "../protocol/frame_reader.ts";
import { encode, Messages } from "../protocol/messages.ts";
import { FrameWriter } from "../protocol/frame_writer.ts";
import { Authenticator } from "../auth/authenticator.ts";
import { LocalStorage } from "../storage/local_storage.ts";
import { auditLog, serverLog } from "../log/logging.ts";
import { Admission } from "./admission.ts";
import { admitClient, type HandshakeEnvironment, type Link, UserSessions } from "./handshake.ts";
import { ServerMetrics, startPerformanceSampler } from "./metrics.ts";
import type { ServerConfig } from "./server_config.ts";
import { type BoundPort, listen } from "./listen.ts";
import { ServerSession } from "./session.ts";
import { LoginGuard } from "./login_guard.ts";
import { QuotaLedger } from "./quota.ts";
import { UserLimits } from "./user_limits.ts";
import { ZSTD_CAPABILITY } from "../protocol/compression.ts";

/** A server that is listening. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly metrics: ServerMetrics;
  /** "SHA256:<hex>" of the TLS certificate, or undefined without TLS. */
  readonly fingerprint: string | undefined;
  /** Starts a graceful shutdown; resolves when everything is closed. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

const PARTIAL_SWEEP_INTERVAL_MS = 3600_000;

/** Validates the configuration, binds the port and starts serving. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  await Deno.mkdir(config.storageDir, { recursive: true, mode: 0o700 });
  const authenticator = new Authenticator(config.usersFile, (path, problems) => {
    for (const problem of problems) {
      serverLog.warn("{path}:{line}: {reason}; line skipped", { path, ...problem });
    }
  }, {
    maxCheckWaitMs: config.maxCheckWaitMs,
    loginCacheMs: config.loginCacheMs,
    onRehash: (outcome) =>
      outcome.result === "failed"
        ? serverLog.warn("could not store a password hash for {user}: {reason}", { ...outcome })
        : serverLog.info("password of {user}: {result}", { ...outcome }),
  });
  const userCount = await authenticator.load();
  const legacy = authenticator.legacyUsers();
  if (legacy.length > 0) {
    serverLog.warn(
      "{count} users still have plaintext passwords ({users}); each is hashed at its next login, or run `dfos user migrate`",
      { count: legacy.length, users: legacy.join(", ") },
    );
  }
  const bound = await listen(config);
  const server = new Server(config, bound, authenticator);
  const port = (bound.listener.addr as Deno.NetAddr).port;
  serverLog.info("listening on {host}:{port}, storage {storage}, {users} users", {
    host: config.host,
    port,
    storage: config.storageDir,
    users: userCount,
  });
  return {
    port,
    fingerprint: bound.fingerprint,
    metrics: server.metrics,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}

class Server {
  readonly metrics = new ServerMetrics();
  #quota: QuotaLedger;
  #userLimits: UserLimits;
  readonly finished: Promise<void>;
  #config: ServerConfig;
  #port: BoundPort;
  #shutdown = new AbortController();
  #links = new Set<Link>();
  #sessions = new Set<ServerSession>();
  #connections = new Set<Promise<void>>();
  #environment: HandshakeEnvironment;
  #stopTimers: () => void;

  constructor(config: ServerConfig, port: BoundPort, authenticator: Authenticator) {
    this.#config = config;
    this.#port = port;
    this.#userLimits = new UserLimits({
      bytesPerSecond: config.userBytesPerSecond,
      requestsPerSecond: config.userRequestsPerSecond,
    });
    this.#quota = new QuotaLedger({
      quotaBytes: config.quotaBytes,
      maxFileBytes: config.maxFileBytes,
    });
    this.#environment = {
      config,
      admission: new Admission(config.maxClients, config.maxQueue),
      authenticator,
      metrics: this.metrics,
      userSessions: new UserSessions(),
      guard: new LoginGuard(config.loginGuard),
      unauthenticated: { count: 0 },
      shutdown: this.#shutdown.signal,
    };
    const stopSampler = startPerformanceSampler(this.metrics, config.performanceIntervalMs);
    this.#sweepPartials();
    const sweeper = setInterval(() => this.#sweepPartials(), PARTIAL_SWEEP_INTERVAL_MS);
    this.#stopTimers = () => {
      stopSampler();
      clearInterval(sweeper);
    };
    this.finished = this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const conn of this.#port.listener) {
        const served = this.#serve(conn).finally(() => this.#connections.delete(served));
        this.#connections.add(served);
      }
    } catch (error) {
      if (!this.#shutdown.signal.aborted) throw error;
    }
    await Promise.allSettled([...this.#connections]);
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const link = this.#openLink(conn);
    try {
      const admitted = await admitClient(link, this.#environment);
      if (!admitted) return;
      try {
        await this.#runSession(link, admitted.user, admitted.capabilities);
      } finally {
        this.#environment.userSessions.close(admitted.user);
        admitted.release();
      }
    } finally {
      link.close();
      this.#links.delete(link);
    }
  }

  async #runSession(link: Link, user: string, capabilities: string[]): Promise<void> {
    const storage = await LocalStorage.open(join(this.#config.storageDir, user), {
      fsync: this.#config.fsync,
    });
    const sessionId = crypto.randomUUID().slice(0, 8);
    const session = new ServerSession(link, {
      user,
      sessionId,
      storage,
      metrics: this.metrics,
      quota: this.#quota,
      pacers: this.#userLimits.for(user),
      compress: capabilities.includes(ZSTD_CAPABILITY),
      idleTimeoutMs: this.#config.idleTimeoutMs,
    });
    await link.writer.send(encode(Messages.AuthOk, 0, { sessionId, cwd: "/" }));
    auditLog.info("login", {
      event: "login",
      user,
      session: sessionId,
      remote: link.remote,
      result: "ok",
    });
    serverLog.info("{user} logged in from {remote} (session {session})", {
      user,
      remote: link.remote,
      session: sessionId,
    });
    this.#sessions.add(session);
    this.metrics.sessions++;
    if (this.#shutdown.signal.aborted) session.drain();
    try {
      await session.run();
    } finally {
      this.#sessions.delete(session);
      this.metrics.sessions--;
      serverLog.info("{user} logged out (session {session})", { user, session: sessionId });
    }
  }

  #openLink(conn: Deno.TcpConn): Link {
    const address = conn.remoteAddr;
    const stream = this.#port.open(conn);
    let closed = false;
    const link: Link = {
      conn: stream,
      reader: new FrameReader(stream),
      writer: new FrameWriter(stream),
      remote: `${address.hostname}:${address.port}`,
      address: address.hostname,
      close: () => {
        if (closed) return;
        closed = true;
        try {
          stream.close();
        } catch {
          // Already closed by the peer.
        }
      },
    };
    this.#links.add(link);
    return link;
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown.signal.aborted) return this.finished;
    serverLog.info(
      "shutting down: no new connections; {sessions} sessions get {grace} s to finish",
      {
        sessions: this.#sessions.size,
        grace: this.#config.shutdownGraceMs / 1000,
      },
    );
    this.#shutdown.abort();
    this.#port.listener.close();
    for (const session of this.#sessions) session.drain();
    const grace = setTimeout(() => {
      serverLog.warn("grace period over: closing {count} connections", { count: this.#links.size });
      for (const link of this.#links) link.close();
    }, this.#config.shutdownGraceMs);
    await this.finished;
    clearTimeout(grace);
    this.#stopTimers();
    serverLog.info("server stopped");
  }

  async #sweepPartials(): Promise<void> {
    try {
      for await (const entry of Deno.readDir(this.#config.storageDir)) {
        if (!entry.isDirectory || entry.name.startsWith(".")) continue;
        const storage = await LocalStorage.open(join(this.#config.storageDir, entry.name));
        const removed = await storage.cleanupPartials(this.#config.partialMaxAgeMs);
        if (removed > 0) {
          serverLog.info("removed {removed} stale partial uploads of {user}", {
            removed,
            user: entry.name,
          });
        }
      }
    } catch (error) {
      serverLog.warn("partial-upload sweep failed: {error}", { error: String(error) });
    }
  }
}
