/**
 * What a request handler sees of its session, and the handler shape every
 * entry of the dispatch table shares.
 *
 * @module
 */

import type { MessageName } from "../protocol/constants.ts";
import type { Frame } from "../protocol/messages.ts";
import type { Storage } from "../storage/storage.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { TransferRegistry } from "./transfers.ts";
import type { QuotaLedger } from "./quota.ts";
import type { UserPacers } from "./user_limits.ts";

/** The session state a handler may use. */
export interface RequestContext {
  readonly user: string;
  readonly sessionId: string;
  readonly storage: Storage;
  readonly metrics: ServerMetrics;
  readonly transfers: TransferRegistry;
  /** Quota and file-size limits, shared by all sessions. */
  readonly quota: QuotaLedger;
  /** This user's bandwidth and request pacing, shared by the user's sessions. */
  readonly pacers: UserPacers;
  /** Both ends support zstd and the client asked for it: compress download chunks. */
  readonly compress: boolean;
  /** The client lists `symlink`: links go out as entry kind 4, else as kind 3 (other). */
  readonly symlinks: boolean;
  /** The client lists `mode`: entries go out with their permission bits. */
  readonly modes: boolean;
  /** Working directory, a virtual absolute path. */
  cwd: string;
  /** Resolves a client path against `cwd` inside the user's root (may throw INVALID_PATH). */
  resolve(path: string): string;
  /**
   * Queues one frame to the client; resolves once it is written, rejects
   * with `ConnectionLost` if the connection is gone. Once the session has
   * ended (a protocol error, a timeout, the client leaving) it sends nothing.
   */
  send(frame: Uint8Array): Promise<void>;
  /**
   * Queues a final reply without waiting for it to be written, so the next
   * request can start; waits only while many replies are backed up (a
   * client that does not read). A failed write ends the session anyway.
   */
  reply(frame: Uint8Array): Promise<void>;
}

/** What the audit log records about a completed request, beyond user and result. */
export interface AuditDetail {
  path?: string;
  to?: string;
  bytes?: number;
  /** A partial upload named by its id (DiscardPartials). */
  id?: string;
  /** How many things the request removed, when it can be several (DiscardPartials). */
  count?: number;
  /** Set by handlers that start a stream: the audit record is written when it ends. */
  deferred?: boolean;
}

/** One entry of the dispatch table: decode, check, act, reply. */
export interface RequestHandler {
  name: MessageName;
  /** The event name in the audit log, when not `name` (one name for every way to upload). */
  auditAs?: string;
  /** Whether the request changes storage (drives the audit log and the capability list). */
  writes: boolean;
  handle(context: RequestContext, frame: Frame): Promise<AuditDetail | void>;
}
