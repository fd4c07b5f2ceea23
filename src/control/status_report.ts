/**
 * What `dfos server status` reports: the JSON object the control socket
 * sends and `--json` prints (README "Status and control" documents every
 * field). Fields are only ever added, never renamed or removed, within a
 * {@link CONTROL_PROTOCOL_VERSION}.
 *
 * @module
 */

import type { SessionRegistry, TransferDirection } from "../server/session_registry.ts";
import { CONTROL_PROTOCOL_VERSION } from "./control_protocol.ts";

/** One running transfer. */
export interface TransferStatus {
  direction: TransferDirection;
  /** The path inside the user's folder. */
  path: string;
  /** Bytes there will be when it is done. */
  size: number;
  /** Bytes that were already in place when this attempt began (a resume). */
  offset: number;
  /** Bytes in place now, `offset` included. */
  done: number;
  /** When this attempt began (ISO 8601, UTC). */
  startedAt: string;
  /** Bytes moved per second in this attempt, on average. */
  bytesPerSecond: number;
}

/** One logged-in session. */
export interface SessionStatus {
  /** The session id the client was given at login (as in the audit log). */
  id: string;
  user: string;
  /** The client's "address:port". */
  remote: string;
  /** When it logged in (ISO 8601, UTC). */
  since: string;
  transfers: TransferStatus[];
}

/** The whole report. */
export interface ServerStatus {
  /** The control protocol's version. */
  version: number;
  server: {
    pid: number;
    /** The program's version. */
    version: string;
    host: string;
    port: number;
    startedAt: string;
    uptimeSeconds: number;
    /** A shutdown is under way (running transfers are finishing). */
    stopping: boolean;
    /** Sessions served at once (`--max-clients`). */
    maxClients: number;
  };
  /** Logged-in sessions, in the order they logged in. */
  sessions: SessionStatus[];
  /** Connections waiting for a slot, and how many may (`--max-queue`). */
  queue: { waiting: number; max: number };
  /** Since the start. Bytes are the data payloads as sent on the wire (compressed if so). */
  totals: {
    sessionsServed: number;
    bytesIn: number;
    bytesOut: number;
    transfersCompleted: number;
  };
}

/** The server's state a report is made of. */
export interface StatusSource {
  registry: SessionRegistry;
  metrics: { bytesIn: number; bytesOut: number; transfersCompleted: number; queued: number };
  pid: number;
  version: string;
  host: string;
  port: number;
  maxClients: number;
  maxQueue: number;
  stopping: boolean;
}

/** The report of `source` at `now` (ms since the epoch). */
export function buildStatus(source: StatusSource, now: number = Date.now()): ServerStatus {
  const { registry, metrics } = source;
  return {
    version: CONTROL_PROTOCOL_VERSION,
    server: {
      pid: source.pid,
      version: source.version,
      host: source.host,
      port: source.port,
      startedAt: iso(registry.startedAt),
      uptimeSeconds: Math.max(0, Math.floor((now - registry.startedAt) / 1000)),
      stopping: source.stopping,
      maxClients: source.maxClients,
    },
    sessions: registry.sessions.map((session) => ({
      id: session.sessionId,
      user: session.user,
      remote: session.remote,
      since: iso(session.since),
      transfers: session.transfers.map((transfer) => ({
        direction: transfer.direction,
        path: transfer.path,
        size: transfer.size,
        offset: transfer.offset,
        done: transfer.done,
        startedAt: iso(transfer.startedAt),
        bytesPerSecond: rate(transfer.moved, now - transfer.startedAt),
      })),
    })),
    queue: { waiting: metrics.queued, max: source.maxQueue },
    totals: {
      sessionsServed: registry.served,
      bytesIn: metrics.bytesIn,
      bytesOut: metrics.bytesOut,
      transfersCompleted: metrics.transfersCompleted,
    },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function rate(bytes: number, ms: number): number {
  return ms > 0 ? Math.round(bytes / (ms / 1000)) : 0;
}
