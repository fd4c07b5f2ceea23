/**
 * How a side changed a path since the last sync, judged only against what
 * that side had then: never by comparing the two machines' clocks.
 *
 * @module
 */

import { type BaseEntry, sameContent, type SyncEntry } from "./sync_entry.ts";

/** A side's change of one path since the last sync. */
export type Change = "absent" | "unchanged" | "created" | "modified" | "deleted";

/** What `current` is relative to the remembered `base`. */
export function changeOf(base: BaseEntry | undefined, current: SyncEntry | undefined): Change {
  if (base === undefined) return current === undefined ? "absent" : "created";
  if (current === undefined) return "deleted";
  return sameContent(base, current) ? "unchanged" : "modified";
}

/** Whether the side did something to the path. */
export function isChange(change: Change): boolean {
  return change === "created" || change === "modified" || change === "deleted";
}

/** Whether the side has the path now after changing it (created or modified). */
export function isWrite(change: Change): boolean {
  return change === "created" || change === "modified";
}
