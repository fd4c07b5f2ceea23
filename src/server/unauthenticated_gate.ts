/**
 * The bound on connections between accept and login (`--max-unauthenticated`):
 * how many are in that stage, and the log lines of those refused beyond it,
 * once per burst (anyone who can reach the port can cause a refusal per
 * connection, as fast as they can connect).
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { plural } from "../shared/plural.ts";
import { BurstReports } from "./burst_reports.ts";

/** One connection refused because the stage was full. */
export interface CrowdedRefusal {
  /** "address:port" of the refused peer. */
  remote: string;
  /** Connections in the stage when it was refused. */
  count: number;
}

/** Connections between accept and login, and the refusals of those beyond the bound. */
export interface UnauthenticatedGate {
  /** Connections between accept and login, not counting time in the queue. */
  count: number;
  /** Refusals for want of room: the first of a burst at once, then a sum every 10 s. */
  refusals: BurstReports<CrowdedRefusal>;
}

/** A gate with nobody in it, logging its refusals to the server log. */
export function unauthenticatedGate(): UnauthenticatedGate {
  const refusals = new BurstReports<CrowdedRefusal>({
    first: ({ remote, count }) =>
      serverLog.warn("refusing {remote}: {connections} already logging in, the most allowed", {
        remote,
        count,
        connections: plural(count, "connection is", "connections are"),
      }),
    more: (refused, { count }) =>
      serverLog.warn(
        "refused another {connections}: {count} were already logging in, the most allowed",
        { refused, count, connections: plural(refused, "connection") },
      ),
  });
  return { count: 0, refusals };
}
