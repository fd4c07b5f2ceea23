/**
 * How a sync tells people what it will do (`--dry-run`) and what it did:
 * one line per step, then a summary line.
 *
 * @module
 */

import { formatBytes } from "../shared/format_bytes.ts";
import { plural } from "../shared/plural.ts";
import type { Plan, SyncAction } from "./plan.ts";
import type { Side } from "./sync_entry.ts";

/** Arrows for the direction of a step: what changes where. */
const WHERE: Record<Side, string> = { remote: "server", local: "local" };

/** One line describing `action`, or undefined for bookkeeping steps nobody needs to see. */
export function describeAction(action: SyncAction): string | undefined {
  const line = (where: string, verb: string, what: string) =>
    `${where.padEnd(6)} ${verb.padEnd(7)} ${what}`;
  switch (action.op) {
    case "copy": {
      const size = formatBytes(action.source.size);
      return line(
        action.to === "remote" ? "push" : "pull",
        action.reason,
        `${action.path} (${size})`,
      );
    }
    case "mkdir":
      return line(WHERE[action.to], "mkdir", `${action.path}/`);
    case "delete": {
      const slash = action.expected.kind === "directory" ? "/" : "";
      return line(WHERE[action.to], "delete", action.path + slash);
    }
    case "rename":
      return line(WHERE[action.to], "rename", `${action.from} -> ${action.path}`);
    case "aside":
      return line(WHERE[action.to], "keep", `${action.path} as ${action.aside}`);
    case "record":
    case "forget":
      return undefined;
  }
}

/** The lines of a plan: each step, the conflicts, and what a one-way sync leaves alone. */
export function describePlan(plan: Plan): string[] {
  const lines = plan.actions.map(describeAction).filter((line) => line !== undefined);
  for (const conflict of plan.conflicts) {
    const kept = conflict.kept === "remote" ? "the server's" : "the local";
    lines.push(
      `conflict ${conflict.path}: ${kept} version keeps the name, the other is ${conflict.aside}`,
    );
  }
  for (const kept of plan.kept) {
    lines.push(`left     ${kept.path} (${WHERE[kept.side]}): ${kept.reason}`);
  }
  return lines;
}

/** Totals of a sync, for its summary line. */
export interface SyncTotals {
  pushed: { files: number; bytes: number };
  pulled: { files: number; bytes: number };
  renames: number;
  deletes: number;
  conflicts: number;
  failed: number;
  seconds: number;
}

/** The totals `plan` amounts to if every step succeeds. */
export function planTotals(plan: Plan): SyncTotals {
  const totals: SyncTotals = {
    pushed: { files: 0, bytes: 0 },
    pulled: { files: 0, bytes: 0 },
    renames: 0,
    deletes: 0,
    conflicts: plan.conflicts.length,
    failed: 0,
    seconds: 0,
  };
  for (const action of plan.actions) countAction(totals, action);
  return totals;
}

/** Adds one step to `totals`. */
export function countAction(totals: SyncTotals, action: SyncAction): void {
  if (action.op === "copy") {
    const way = action.to === "remote" ? totals.pushed : totals.pulled;
    way.files++;
    way.bytes += action.source.size;
  } else if (action.op === "rename") totals.renames++;
  else if (action.op === "delete") totals.deletes++;
}

/** "sent 3 files (1.2 MiB), received 1 file (4 B), 1 rename, 0 deletes, 1 conflict in 0.4 s". */
export function describeTotals(totals: SyncTotals): string {
  const parts = [
    `sent ${plural(totals.pushed.files, "file")} (${formatBytes(totals.pushed.bytes)})`,
    `received ${plural(totals.pulled.files, "file")} (${formatBytes(totals.pulled.bytes)})`,
    plural(totals.renames, "rename"),
    plural(totals.deletes, "delete"),
    plural(totals.conflicts, "conflict"),
  ];
  if (totals.failed > 0) parts.push(`${totals.failed} not synced`);
  return `${parts.join(", ")} in ${totals.seconds.toFixed(1)} s`;
}
