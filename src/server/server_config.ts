/**
 * Everything a server can be told, with defaults in one place.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { DEFAULT_PORT } from "../protocol/constants.ts";
import type { IdentitySource } from "../transport/server_identity.ts";
import { DEFAULT_LOGIN_GUARD, type LoginGuardOptions } from "./login_guard.ts";
import { DEFAULT_LOGIN_CACHE_MS, DEFAULT_MAX_CHECK_WAIT_MS } from "../auth/login_defaults.ts";
import type { MetricsAddress } from "../metrics/metrics_address.ts";
import type { DatabaseConfig } from "./shared_database.ts";
import type { S3Config } from "../storage/object/s3_configuration.ts";

/** Transport security: TLS with an identity, or plain TCP only when asked for by name. */
export type ServerTls = IdentitySource | { kind: "insecure" };

/** Server settings. Every field has a documented default in {@link DEFAULT_SERVER_CONFIG}. */
export interface ServerConfig {
  /** Address to bind. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Folder holding one sub-folder per user, or `s3://BUCKET/PREFIX` (needs {@link database}). */
  storageDir: string;
  /** The users file. */
  usersFile: string;
  /** Folder for server.log, audit.log and server_performance.log. */
  logDir: string;
  /** Sessions served at once. */
  maxClients: number;
  /** Connections that may wait for a slot. */
  maxQueue: number;
  /** Open sessions one user may have. */
  maxSessionsPerUser: number;
  /** Time a running transfer gets to finish after SIGINT/SIGTERM, ms. */
  shutdownGraceMs: number;
  /**
   * Time a connecting peer has to send its part of the login, ms: `Hello`
   * within this of connecting, `Auth` within this of getting a slot. Waiting
   * for a slot or for the password check is the server's doing and not counted.
   */
  loginTimeoutMs: number;
  /** A session with no frame and no transfer for this long is closed, ms. */
  idleTimeoutMs: number;
  /** Longest a connection may wait in the queue, ms. */
  queueTimeoutMs: number;
  /** Longest a received `Auth` may wait for its password check before "server busy", ms. */
  maxCheckWaitMs: number;
  /** How long a password that passed its check is remembered, ms; 0: check every login. */
  loginCacheMs: number;
  /** Interval of the performance log, ms. */
  performanceIntervalMs: number;
  /** Partial uploads untouched this long are deleted, ms. */
  partialMaxAgeMs: number;
  /**
   * Pause between two comparisons of an open journal's tree with the files,
   * ms (at least ten times the last one's duration; see user_journals.ts).
   */
  rescanIntervalMs: number;
  /** The PostgreSQL database shared by several nodes; none by default (shared_database.ts). */
  database?: DatabaseConfig;
  /** The object store's options, for an `s3://` storage (s3_configuration.ts); none by default. */
  s3?: S3Config;
  /** Name sent in `Welcome`. */
  serverName: string;
  /** Sync file data before an upload is renamed into place. */
  fsync: boolean;
  /** TLS identity (default: self-signed, kept in `stateDir`). */
  tls: ServerTls;
  /** Folder of the server's own files: the self-signed TLS identity, the control socket. */
  stateDir: string;
  /** Failed-login limits. */
  loginGuard: LoginGuardOptions;
  /** Connections that may be between accept and login at once (counted while in the queue: no; while the password is checked: yes). */
  maxUnauthenticated: number;
  /** Bytes one user may store (undefined: unlimited). */
  quotaBytes?: number;
  /** Bytes one file may have (undefined: unlimited). */
  maxFileBytes?: number;
  /** Bytes per second one user may move, all sessions together (undefined: unlimited). */
  userBytesPerSecond?: number;
  /** Requests per second one user may make (undefined: unlimited). */
  userRequestsPerSecond?: number;
  /** Announce the server on the local link with DNS-SD over multicast DNS. */
  discoverable: boolean;
  /** The name it is announced under (undefined: the host name). */
  discoveryName?: string;
  /** Where to serve `/metrics` and `/healthz` over HTTP (undefined: nowhere). */
  metricsAddress?: MetricsAddress;
}

/**
 * The defaults, as documented in the README (which says why). A burst of 100
 * clients connecting at once logs in with them on a two-core machine: all 100
 * fit in the login stage (`maxUnauthenticated`) and, beyond the 10 sessions
 * served at once, in the queue (`maxQueue`); their password checks (0.1–0.2 s
 * of CPU each, one per core) take 10–25 s in all, within `maxCheckWaitMs` and
 * not counted against `loginTimeoutMs`.
 */
export const DEFAULT_SERVER_CONFIG: ServerConfig = {
  host: "0.0.0.0",
  port: DEFAULT_PORT,
  storageDir: "./server_storage",
  usersFile: "./id_passwd.txt",
  logDir: "./logs",
  maxClients: 10,
  maxQueue: 128,
  maxSessionsPerUser: 1,
  shutdownGraceMs: 10_000,
  loginTimeoutMs: 10_000,
  idleTimeoutMs: 600_000,
  queueTimeoutMs: 600_000,
  maxCheckWaitMs: DEFAULT_MAX_CHECK_WAIT_MS,
  loginCacheMs: DEFAULT_LOGIN_CACHE_MS,
  performanceIntervalMs: 5_000,
  partialMaxAgeMs: 7 * 24 * 3600_000,
  rescanIntervalMs: 60_000,
  serverName: "dfos",
  fsync: true,
  tls: { kind: "state", stateDir: "./server_state" },
  stateDir: "./server_state",
  loginGuard: DEFAULT_LOGIN_GUARD,
  maxUnauthenticated: 128,
  discoverable: false,
};

/**
 * The state folder: `stateDir` if given, else `server_state` beside the
 * storage folder (in the current folder for a storage that is not a folder,
 * `s3://…`). `dfos server` and `dfos server status`/`stop` agree through it.
 *
 * @example
 * ```ts
 * stateDirFor("/srv/dfos/storage"); // "/srv/dfos/server_state"
 * ```
 */
export function stateDirFor(storageDir: string, stateDir?: string): string {
  if (stateDir !== undefined) return stateDir;
  return isStorageFolder(storageDir) ? join(dirname(storageDir), "server_state") : "server_state";
}

/** Whether a `--storage` location is a folder (not `SCHEME://…`, an object store). */
export function isStorageFolder(storage: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(storage);
}
