/**
 * The one place that sees every change made to a user's tree, and every
 * request a session finished. Sessions publish here (through
 * observed_storage.ts, which every change of the tree goes through, and the
 * dispatcher, which finishes every request); the change journal, the
 * notifier of watching sessions and the audit log subscribe, and so can
 * metrics (src/metrics/request_metrics.ts) or another backend later.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import type { AuditDetail, AuditOperation } from "./request_context.ts";

/** What a path holds after a change. */
export interface ChangedEntry {
  kind: "file" | "directory";
  size: number;
  mtimeMs: number;
  /** Lowercase hex SHA-256 of a file: what an upload was verified against; absent where unknown. */
  sha256?: string;
}

/** One change of a user's tree. Paths are canonical (see `Storage.canonicalPath`). */
export interface TreeChange {
  user: string;
  /** The session that made it; absent for a change found on disk, made behind the server's back. */
  sessionId?: string;
  /**
   * `write`: a file is now at `path` (an upload, or a file changed on disk);
   * `mkdir`: a folder is now at `path`; `delete`: `path` is gone, with
   * everything in it; `rename`: `from` is now at `path`; `set-mtime`: the
   * modification time of `path` changed, and nothing else.
   */
  op: "write" | "mkdir" | "delete" | "rename" | "set-mtime";
  path: string;
  /** The old path of a rename. */
  from?: string;
  /** What `path` holds now (not for `delete`). */
  entry?: ChangedEntry;
}

/** A finished request, as the audit log (and the metrics) record it. */
export interface RequestRecord {
  operation: AuditOperation;
  user: string;
  sessionId: string;
  remote: string;
  detail: Omit<AuditDetail, "deferred"> & { durationMs?: number };
  /** "ok", or the failure's message. */
  result: string;
  /** The failure's status code (`STATUS`); absent when the request succeeded. */
  code?: number;
  /**
   * False for a request the audit log leaves out, told only for the metrics:
   * a read-only request that succeeded, one refused while shutting down. Default true.
   */
  audited?: boolean;
}

/** What a subscriber listens to; either part may be left out. */
export interface FeedSubscriber {
  /** Told of each change, in order, while the change's commit lock is held. */
  change?(change: TreeChange): void | Promise<void>;
  /** Told of each finished request. */
  request?(record: RequestRecord): void;
}

/**
 * The server's change feed. A subscriber that fails is logged and skipped:
 * the change has happened all the same.
 *
 * @example
 * ```ts
 * const feed = new ChangeFeed();
 * feed.subscribe({ change: (change) => console.log(change.op, change.path) });
 * await feed.publish({ user: "alice", sessionId: "1f2e3d4c", op: "delete", path: "/a.txt" });
 * ```
 */
export class ChangeFeed {
  #subscribers: FeedSubscriber[] = [];

  /** Adds `subscriber` after those already there; returns how to remove it. */
  subscribe(subscriber: FeedSubscriber): () => void {
    this.#subscribers.push(subscriber);
    return () => {
      this.#subscribers = this.#subscribers.filter((other) => other !== subscriber);
    };
  }

  /** Tells every subscriber of `change`, one after another; resolves when all are done. */
  async publish(change: TreeChange): Promise<void> {
    for (const subscriber of this.#subscribers) {
      try {
        await subscriber.change?.(change);
      } catch (error) {
        serverLog.error("a change of {user}'s {path} could not be recorded: {error}", {
          user: change.user,
          path: change.path,
          error: String(error),
        });
      }
    }
  }

  /** Tells every subscriber of a finished request. */
  request(record: RequestRecord): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber.request?.(record);
      } catch (error) {
        serverLog.error("a request could not be recorded: {error}", { error: String(error) });
      }
    }
  }
}
