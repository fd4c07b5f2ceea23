/**
 * The delete guard: a sync that would delete more than a threshold of the
 * files it remembers stops and asks for `--force`, so that an unmounted disk
 * or an emptied folder does not empty the other side.
 *
 * @module
 */

import type { Plan } from "./plan.ts";
import type { BaseEntry, Side, Tree } from "./sync_entry.ts";

/** Options of {@link deleteGuard}. */
export interface DeleteGuardOptions {
  /** Share of the remembered files one run may delete on one side. Default 0.5. */
  maxShare?: number;
  /** Files one run may delete on one side. Default 1,000. */
  maxFiles?: number;
}

/** What the guard found: nothing to say, or why the run must stop. */
export type GuardVerdict = { stop: false } | { stop: true; side: Side; files: number; of: number };

/**
 * Whether `plan` deletes more files on either side than allowed: more than
 * `maxShare` of the files in `base` (the remembered state, or how many files
 * it holds), or more than `maxFiles`, whichever is smaller.
 */
export function deleteGuard(
  plan: Plan,
  base: Tree<BaseEntry> | number,
  options: DeleteGuardOptions = {},
): GuardVerdict {
  const remembered = typeof base === "number"
    ? base
    : [...base.values()].filter((entry) => entry.kind === "file").length;
  const limit = Math.min(remembered * (options.maxShare ?? 0.5), options.maxFiles ?? 1000);
  for (const side of ["local", "remote"] as const) {
    const files = plan.actions.filter((action) =>
      action.op === "delete" && action.to === side && action.expected.kind === "file"
    ).length;
    if (files > limit) {
      return { stop: true, side, files, of: remembered };
    }
  }
  return { stop: false };
}
