/**
 * The DFOS server: accepts connections, admits them through the slot queue,
 * runs one {@link ServerSession} per logged-in client and shuts down
 * gracefully, letting running transfers finish within a grace period.
 *
 * @module
 */

import { FrameReader } from "../protocol/frame_reader.ts";
import { encode, Messages, MODE_CAPABILITY, SYMLINK_CAPABILITY } from "../protocol/messages.ts";
import { FrameWriter } from "../protocol/frame_writer.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import type { StorageProvider } from "../storage/storage_provider.ts";
import { storageProviderFor } from "../storage/storage_location.ts";
import { auditLog, serverLog } from "../log/logging.ts";
import { Admission } from "./admission.ts";
import { admitClient, type HandshakeEnvironment, type Link, UserSessions } from "./handshake.ts";
import { ServerMetrics, startPerformanceSampler } from "./metrics.ts";
import { isStorageFolder, type ServerConfig } from "./server_config.ts";
import { type BoundPort, listen } from "./listen.ts";
import { acceptConnections, type AcceptReports } from "./accept_loop.ts";
import { type DescriptorBudget, descriptorBudget } from "./descriptor_budget.ts";
import { ServerSession } from "./session.ts";
import { LoginGuard } from "./login_guard.ts";
import { type QuotaBook, QuotaLedger } from "./quota.ts";
import { UserLimits } from "./user_limits.ts";
import { ZSTD_CAPABILITY } from "../protocol/compression.ts";
import { openUsers } from "./users.ts";
import { type SessionTree, TreeServices } from "./tree_services.ts";
import { plural } from "../shared/plural.ts";
import { DfosMetrics } from "../metrics/dfos_metrics.ts";
import type { MetricsEndpoint } from "../metrics/metrics_endpoint.ts";
import { serveMetrics } from "../metrics/serve_metrics.ts";
import { LiveSession, SessionRegistry } from "./session_registry.ts";
import { startPartialSweeper } from "./partial_sweeper.ts";
import { UnauthenticatedGate } from "./unauthenticated_gate.ts";
import type { Database } from "../database/database.ts";
import type { SharedLogins } from "../database/shared_logins.ts";

/** A server that is listening. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** The bound address (`0.0.0.0`: every IPv4 address). */
  readonly hostname: string;
  readonly metrics: ServerMetrics;
  /** The live sessions and their running transfers. */
  readonly sessions: SessionRegistry;
  /** "SHA256:<hex>" of the TLS certificate, or undefined without TLS. */
  readonly fingerprint: string | undefined;
  /** Starts a graceful shutdown; resolves when everything is closed. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

/** How long after the grace period shutdown waits for closed connections to wind down, ms. */
const AFTER_GRACE_MS = 3_000;

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Where the users' files are. Default: the provider `config.storageDir` names. */
  provider?: StorageProvider;
}

/** What the server shares with other nodes: the database of `--database`, if any. */
export interface SharedState {
  database?: Database;
  /** With `database`: the users, session limit and failed logins kept there. */
  logins?: SharedLogins;
  /** With `database` on the object store: the quota's usage and reservations kept there. */
  quota?: QuotaBook & { close(): void };
}

/** Validates the configuration, binds the port and starts serving. */
export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const shared: SharedState = {
    // Loaded only when asked for: a server on its own never loads the driver.
    database: config.database
      ? await (await import("./shared_database.ts")).openSharedDatabase(config.database)
      : undefined,
  };
  if (shared.database) shared.logins = await openSharedLogins(shared.database, config);
  if (shared.database && !isStorageFolder(config.storageDir) && config.quotaBytes !== undefined) {
    shared.quota = await openSharedQuota(shared.database);
  }
  try {
    return await startWith(config, shared, options);
  } catch (error) {
    shared.quota?.close();
    await shared.database?.close(0).catch(() => {});
    throw error;
  }
}

async function startWith(
  config: ServerConfig,
  shared: SharedState,
  options: StartServerOptions,
): Promise<RunningServer> {
  const provider = options.provider ??
    storageProviderFor(config.storageDir, {
      fsync: config.fsync,
      database: shared.database,
      s3: config.s3,
    });
  await provider.prepare();
  const metrics = new ServerMetrics();
  const exported = config.metricsAddress ? new DfosMetrics(metrics) : undefined;
  const onCheckWait = exported?.observeCheckWait;
  const users = shared.logins?.users;
  const { authenticator, userCount } = await openUsers(config, { onCheckWait, store: users });
  const bound = await listen(config);
  const budget = descriptorBudget(
    config,
    isStorageFolder(config.storageDir) ? config.storageDir : ".",
  );
  logBudget(budget);
  metrics.maxConnections = budget.maxConnections;
  const endpoint = startMetricsEndpoint(config, exported, bound);
  const monitoring = { metrics, exported, endpoint };
  const server = new Server(config, {
    port: bound,
    maxConnections: budget.maxConnections,
    authenticator,
    provider,
    monitoring,
    shared,
  });
  const { port, hostname } = bound.listener.addr as Deno.NetAddr;
  serverLog.info("listening on {host}:{port}, storage {storage}, {users}", {
    host: config.host,
    port,
    storage: provider.location,
    userCount,
    users: plural(userCount, "user"),
  });
  return {
    port,
    hostname,
    fingerprint: bound.fingerprint,
    metrics: server.metrics,
    sessions: server.sessions,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}

/** The server's running totals, and the metrics endpoint showing them if `--metrics` asks. */
interface Monitoring {
  metrics: ServerMetrics;
  exported?: DfosMetrics;
  endpoint?: MetricsEndpoint;
}

/** What a {@link Server} is built from besides its configuration. */
interface ServerParts {
  port: BoundPort;
  maxConnections: number;
  authenticator: Authenticator;
  provider: StorageProvider;
  monitoring: Monitoring;
  shared: SharedState;
}

class Server {
  readonly metrics: ServerMetrics;
  #endpoint: MetricsEndpoint | undefined;
  readonly sessions = new SessionRegistry();
  #tree: TreeServices;
  #quota: QuotaLedger;
  #userLimits: UserLimits;
  readonly finished: Promise<void>;
  #config: ServerConfig;
  #provider: StorageProvider;
  #shared: SharedState;
  #port: BoundPort;
  #maxConnections: number;
  #shutdown = new AbortController();
  #links = new Set<Link>();
  #sessions = new Set<ServerSession>();
  #connections = new Set<Promise<void>>();
  #environment: HandshakeEnvironment;
  #stopTimers: () => void;

  constructor(config: ServerConfig, parts: ServerParts) {
    const { port, maxConnections, authenticator, monitoring } = parts;
    this.metrics = monitoring.metrics;
    this.#endpoint = monitoring.endpoint;
    this.#tree = new TreeServices({ rescanMs: config.rescanIntervalMs });
    if (monitoring.exported) this.#tree.feed.subscribe(monitoring.exported.requests.subscriber);
    this.#config = config;
    this.#provider = parts.provider;
    this.#shared = parts.shared;
    this.#port = port;
    this.#maxConnections = maxConnections;
    this.#userLimits = new UserLimits({
      bytesPerSecond: config.userBytesPerSecond,
      requestsPerSecond: config.userRequestsPerSecond,
    });
    this.#quota = new QuotaLedger({
      quotaBytes: config.quotaBytes,
      maxFileBytes: config.maxFileBytes,
    }, { book: parts.shared.quota });
    this.#environment = {
      config,
      admission: new Admission(config.maxClients, config.maxQueue),
      authenticator,
      metrics: this.metrics,
      userSessions: parts.shared.logins?.sessions ?? new UserSessions(),
      guard: parts.shared.logins?.guard ?? new LoginGuard(config.loginGuard),
      unauthenticated: new UnauthenticatedGate(),
      shutdown: this.#shutdown.signal,
    };
    const stopSampler = startPerformanceSampler(this.metrics, config.performanceIntervalMs);
    const stopSweeper = startPartialSweeper(parts.provider, config.partialMaxAgeMs);
    const gate = this.#environment.unauthenticated;
    this.#stopTimers = () => {
      gate.stop();
      stopSampler();
      stopSweeper();
      parts.shared.logins?.sessions.close();
      parts.shared.quota?.close();
    };
    this.finished = this.#acceptLoop();
  }

  /** Accepts until shutdown; resolves once every connection has ended. Never rejects. */
  async #acceptLoop(): Promise<void> {
    await acceptConnections(this.#port.listener, {
      maxConnections: this.#maxConnections,
      signal: this.#shutdown.signal,
      reports: acceptReports(this.#maxConnections),
      onConnection: (conn, release) => {
        this.metrics.connections++;
        const served = this.#serve(conn).finally(() => {
          release();
          this.metrics.connections--;
          this.#connections.delete(served);
        });
        this.#connections.add(served);
      },
    });
    await Promise.allSettled([...this.#connections]);
    await this.#tree.closeAll(); // Journals still open: the last sessions closed them already.
    await this.#endpoint?.close(); // /healthz said 503 while the connections wound down.
    await this.#shared.database?.close();
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const link = this.#openLink(conn);
    try {
      const admitted = await admitClient(link, this.#environment);
      if (!admitted) return;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        admitted.release();
      };
      try {
        await this.#runSession(link, admitted.user, admitted.capabilities, release);
      } finally {
        release();
      }
    } finally {
      link.close();
      this.#links.delete(link);
    }
  }

  /**
   * Serves the logged-in session, then frees its slot (`release`) before
   * its storage finishes what it put off (Storage.tidy): the user's next
   * session need not wait for a tree the last one removed to be freed.
   */
  async #runSession(
    link: Link,
    user: string,
    capabilities: string[],
    release: () => void,
  ): Promise<void> {
    const backend = await this.#provider.open(user);
    const sessionId = crypto.randomUUID().slice(0, 8);
    const tree = await this.#tree.openSession(user, sessionId, backend);
    try {
      await this.#serveSession(link, tree, { user, sessionId, capabilities });
    } finally {
      await tree.release();
      release();
      await backend.tidy();
    }
  }

  async #serveSession(
    link: Link,
    tree: SessionTree,
    { user, sessionId, capabilities }: { user: string; sessionId: string; capabilities: string[] },
  ): Promise<void> {
    const live = new LiveSession({ sessionId, user, remote: link.remote });
    const session = new ServerSession(link, {
      user,
      sessionId,
      storage: tree.storage,
      index: tree.index,
      feed: this.#tree.feed,
      watchers: this.#tree.watchers,
      metrics: this.metrics,
      quota: this.#quota,
      pacers: this.#userLimits.for(user),
      compress: capabilities.includes(ZSTD_CAPABILITY),
      symlinks: capabilities.includes(SYMLINK_CAPABILITY),
      modes: capabilities.includes(MODE_CAPABILITY),
      idleTimeoutMs: this.#config.idleTimeoutMs,
      tracker: live,
    });
    await link.writer.send(encode(Messages.AuthOk, 0, { sessionId, cwd: "/" }));
    auditLog.info("login of {user} from {remote}: {result}", {
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
    this.sessions.add(live);
    this.metrics.sessions++;
    this.metrics.logins.ok++;
    if (this.#shutdown.signal.aborted) session.drain(this.#config.shutdownGraceMs);
    try {
      await session.run();
    } finally {
      this.#sessions.delete(session);
      this.sessions.remove(live);
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
    const grace = this.#config.shutdownGraceMs / 1000;
    serverLog.info(
      "shutting down: no new connections; running transfers have {grace} s to finish ({sessions} open)",
      {
        grace,
        sessionCount: this.#sessions.size,
        sessions: plural(this.#sessions.size, "session"),
      },
    );
    this.#shutdown.abort();
    this.#endpoint?.shuttingDown();
    this.#port.listener.close();
    for (const session of this.#sessions) session.drain(this.#config.shutdownGraceMs);
    const graceTimer = setTimeout(() => {
      // The planned end of the shutdown, not a fault: what it cuts off is resumable.
      const count = this.#links.size;
      if (count > 0) {
        serverLog.info("the {grace} s grace period is over: closing {connections}", {
          grace,
          count,
          connections: plural(count, "connection"),
        });
      }
      for (const link of this.#links) link.close();
    }, this.#config.shutdownGraceMs);
    let late: ReturnType<typeof setTimeout> | undefined;
    const tooLate = new Promise<false>((resolve) => {
      late = setTimeout(() => resolve(false), this.#config.shutdownGraceMs + AFTER_GRACE_MS);
    });
    const finished = await Promise.race([this.finished.then(() => true), tooLate]);
    clearTimeout(graceTimer);
    clearTimeout(late);
    if (!finished) {
      // A connection still inside a password check, say: nothing of it needs saving.
      const count = this.#connections.size;
      serverLog.warn("{connections} still closing after the grace period; stopping anyway", {
        count,
        connections: plural(count, "connection"),
      });
    }
    if (!finished) {
      await Promise.all([this.#tree.closeAll(), this.#endpoint?.close()]);
      await this.#shared.database?.close(0);
    }
    this.#stopTimers();
    serverLog.info("server stopped");
  }
}

/** The login state kept in `database`; a lease renewal that fails is logged (the next one tries again). */
async function openSharedLogins(database: Database, config: ServerConfig): Promise<SharedLogins> {
  const { sharedLogins } = await import("../database/shared_logins.ts");
  return sharedLogins(database, {
    loginGuard: config.loginGuard,
    leases: {
      onRenewError: (error) =>
        serverLog.warn("could not renew this node's session leases: {error}; retrying", {
          error: error instanceof Error ? error.message : String(error),
        }),
    },
  });
}

/**
 * The quota's reservations kept in `database`, for a site on the object store
 * (whose usage the database holds); a renewal that fails is logged.
 */
async function openSharedQuota(database: Database): Promise<QuotaBook & { close(): void }> {
  const { QuotaReservations } = await import("../database/quota_reservations.ts");
  return new QuotaReservations(database, {
    onRenewError: (error) =>
      serverLog.warn("could not renew this node's quota reservations: {error}; retrying", {
        error: error instanceof Error ? error.message : String(error),
      }),
  });
}

/** Serves the metrics if `--metrics` asks; if that fails, closes `bound` (and throws). */
function startMetricsEndpoint(
  config: ServerConfig,
  exported: DfosMetrics | undefined,
  bound: BoundPort,
): MetricsEndpoint | undefined {
  if (!exported || !config.metricsAddress) return undefined;
  try {
    return serveMetrics(config.metricsAddress, exported);
  } catch (error) {
    bound.listener.close();
    throw error;
  }
}

/** Says at startup how many connections the server holds at once, and why. */
function logBudget(budget: DescriptorBudget): void {
  const fields = { ...budget };
  if (budget.limitedByDescriptors) {
    serverLog.warn(
      "the open-file limit leaves {free} descriptors: at most {maxConnections} connections at once, {reserve} descriptors kept for files and logs; raise it (ulimit -n) to serve more",
      fields,
    );
  } else {
    serverLog.info(
      "at most {maxConnections} connections at once ({reserve} of {free}+ free descriptors kept for files and logs)",
      fields,
    );
  }
}

/** The accept loop's reports as log lines. */
function acceptReports(maxConnections: number): AcceptReports {
  return {
    failing: (error) =>
      serverLog.error("cannot accept connections: {error}; retrying", { error: String(error) }),
    recovered: (failures, ms) =>
      serverLog.info("accepting connections again after {attempts} in {seconds} s", {
        failures,
        attempts: plural(failures, "failed attempt"),
        seconds: ms / 1000,
      }),
    refused: (count, open) =>
      serverLog.warn(
        "closed {connections} at once: {open} are open, the most allowed ({max})",
        { count, connections: plural(count, "new connection"), open, max: maxConnections },
      ),
  };
}
