/**
 * What a request handler sees of its session, and the handler shape every
 * entry of the dispatch table shares.
 *
 * @module
 */

import type { MessageName } from "../protocol/constants.ts";
import type { Frame } from "../protocol/messages.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { ObservedStorage } from "./observed_storage.ts";
import type { TreeIndex } from "./tree_index.ts";
import type { TransferRegistry } from "./transfers.ts";
import type { QuotaLedger } from "./quota.ts";
import type { UserPacers } from "./user_limits.ts";
import type { JournalPosition } from "../storage/journal.ts";

/** The session state a handler may use. */
export interface RequestContext {
  readonly user: string;
  readonly sessionId: string;
  /** The user's files; every change made through it is locked, recorded and published. */
  readonly storage: ObservedStorage;
  /** The user's change journal and its index, held up against the files. */
  readonly index: TreeIndex;
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
   * Sends `Changed` when others change something in `folder` (canonical),
   * and at once if the journal moved past `armedAt` (where it stood in the
   * answer that asked for the watch); null: stop.
   */
  watch(folder: string | null, armedAt?: JournalPosition): void;
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

/**
 * Operation names in the audit log, as an operator reads them (the handler
 * table in handlers.ts says which request is which).
 */
export type AuditOperation =
  | "list"
  | "stat"
  | "cd"
  | "mkdir"
  | "rmdir"
  | "delete"
  | "rename"
  | "set-mtime"
  | "download"
  | "upload"
  | "list-partials"
  | "discard-partials"
  | "list-tree"
  | "changes";

/** A path for the audit log: resolved, and as the client sent it where that differs. */
export interface AuditedPath {
  /** The absolute path inside the user's root. */
  path: string;
  /** The path as sent (relative to the working directory, say); absent when the same. */
  requested?: string;
}

/** The {@link AuditedPath} of a path sent as `requested` that resolved to `path`. */
export function auditedPath(requested: string, path: string): AuditedPath {
  return requested === path ? { path } : { path, requested };
}

/** What the audit log records about a completed request, beyond user and result. */
export interface AuditDetail {
  /** The path the request is about, resolved inside the user's root. */
  path?: string;
  /** `path` as the client sent it, when that differs. */
  requested?: string;
  /** Where a rename went, resolved. */
  to?: string;
  /** `to` as the client sent it, when that differs. */
  requestedTo?: string;
  /** Whether a delete took a folder with everything in it. */
  recursive?: boolean;
  bytes?: number;
  /** A partial upload named by its id (DiscardPartials). */
  id?: string;
  /** How many things the request removed, when it can be several (DiscardPartials). */
  count?: number;
  /** Set by handlers that start a stream: the audit record is written when it ends. */
  deferred?: boolean;
  /** A request of many files (`WriteFiles`): one audit record each, instead of one for the request. */
  files?: BatchFileRecord[];
}

/** The audit record of one file of a `WriteFiles`: its path, bytes, and its own result. */
export type BatchFileRecord = Omit<AuditDetail, "files"> & {
  /** "ok", or the failure's message. */
  result: string;
  /** The failure's status code; absent when the file was stored. */
  code?: number;
};

/** One entry of the dispatch table: decode, check, act, reply. */
export interface RequestHandler {
  name: MessageName;
  /** The operation's name in the audit log. */
  audit: AuditOperation;
  /** Whether the request changes storage (drives the audit log and the capability list). */
  writes: boolean;
  /**
   * Whether it may overlap the requests around it (request_pipeline.ts): then
   * it must do what others can see (put in place, reply) only once `turn`
   * has resolved. Default false: it runs alone, and `turn` has resolved.
   */
  pipelined?: boolean;
  /**
   * Bytes a pipelined request may hold until it ends (its frame's copy, what
   * it reads), counted against the pipeline's budget. Default: its payload.
   */
  holds?: (frame: Frame) => number;
  handle(context: RequestContext, frame: Frame, turn: Promise<void>): Promise<AuditDetail | void>;
}
