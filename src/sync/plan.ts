/**
 * A sync plan: the steps that bring two sides in step, each conditional on
 * what the planner saw, in the order they must run.
 *
 * @module
 */

import type { Side, SyncEntry } from "./sync_entry.ts";

/** Why a file is copied. */
export type CopyReason = "create" | "update" | "restore";

/** One step of a plan. `to` is the side the step changes. */
export type SyncAction =
  /** Writes `source` (the other side's file) at `path`, if `path` there is still `expected` (absent if undefined). */
  | {
    op: "copy";
    to: Side;
    path: string;
    source: SyncEntry;
    expected?: SyncEntry;
    reason: CopyReason;
  }
  /** Creates the folder `path` (and missing parents). */
  | { op: "mkdir"; to: Side; path: string }
  /** Removes `path` if it is still `expected` (a folder only once empty). */
  | { op: "delete"; to: Side; path: string; expected: SyncEntry }
  /** Renames `from` to `path` if `from` is still `expected` and `path` absent: no bytes move. */
  | { op: "rename"; to: Side; from: string; path: string; expected: SyncEntry }
  /** Moves this side's conflicting version of `path` to `aside`, if still `expected`. */
  | { op: "aside"; to: Side; path: string; aside: string; expected: SyncEntry }
  /** Both sides hold the same at `path`: remember it. */
  | { op: "record"; path: string; local: SyncEntry; remote: SyncEntry }
  /** Neither side has `path` any more: forget it. */
  | { op: "forget"; path: string };

/** A path both sides changed: `kept` holds the name, the other version went to `aside`. */
export interface Conflict {
  path: string;
  aside: string;
  kept: Side;
}

/** A change a one-way sync leaves as it is, and why. */
export interface KeptChange {
  path: string;
  side: Side;
  reason: string;
}

/** What a sync will do. */
export interface Plan {
  actions: SyncAction[];
  conflicts: Conflict[];
  kept: KeptChange[];
}

/** The order steps run in: folders before what goes in them, deletes of folders after their contents. */
const PHASE: Record<SyncAction["op"], number> = {
  rename: 0,
  aside: 1,
  delete: 2,
  mkdir: 3,
  copy: 4,
  record: 5,
  forget: 5,
};

/** Sorts `actions` into the order they can run in (see {@link PHASE}). */
export function orderActions(actions: SyncAction[]): SyncAction[] {
  const depth = (path: string) => path.split("/").length;
  return actions.toSorted((a, b) => {
    if (PHASE[a.op] !== PHASE[b.op]) return PHASE[a.op] - PHASE[b.op];
    if (a.op === "delete" && b.op === "delete") {
      // Files and deeper entries first, so a folder is empty when its turn comes.
      const folder = (action: typeof a) => action.expected.kind === "directory" ? 1 : 0;
      return folder(a) - folder(b) || depth(b.path) - depth(a.path);
    }
    if (a.op === "mkdir" && b.op === "mkdir") return depth(a.path) - depth(b.path);
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
}
