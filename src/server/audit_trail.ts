/**
 * The audit log as a subscriber of the change feed: one record per finished
 * request, with the user, session and peer, the paths (resolved, and as
 * sent where that differs), the duration and the result. Requests marked
 * `audited: false` (a successful read-only one) are left out.
 *
 * @module
 */

import { auditLog } from "../log/logging.ts";
import type { FeedSubscriber, RequestRecord } from "./change_feed.ts";

/** Writes each finished request to the audit log. */
export const auditTrail: FeedSubscriber = {
  request(record: RequestRecord): void {
    if (record.audited === false) return;
    const message = record.detail.path === undefined
      ? "{user}: {event}: {result}"
      : "{user}: {event} {path}: {result}";
    auditLog.info(message, {
      event: record.operation,
      user: record.user,
      session: record.sessionId,
      remote: record.remote,
      ...record.detail,
      result: record.result,
    });
  },
};
