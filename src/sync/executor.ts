/**
 * Runs a sync plan: each phase in turn (renames, moves aside, deletes,
 * folders, copies), the steps of a phase many at once, and remembers every
 * step that succeeded as it goes. A step whose condition fails (the path
 * changed since the plan was made) is reported and left for the next run,
 * and so is every later step that depends on it; nothing is ever forced.
 *
 * @module
 */

import { runPool } from "../shared/run_pool.ts";
import { runWindow } from "../client/transfer_window.ts";
import type { Plan, SyncAction } from "./plan.ts";
import type { Copier, SideOperations } from "./sides.ts";
import type { StateChange } from "./state_store.ts";
import { type BaseEntry, otherSide, type Side, type SyncEntry, type Tree } from "./sync_entry.ts";

/**
 * Steps run at once within a phase: each is a request (a small file, a
 * rename) whose round trip the others hide, so the window is wide.
 */
const DEFAULT_WINDOW = 64;

/** What the executor needs. */
export interface ExecutorSides {
  local: SideOperations;
  remote: SideOperations;
  copier: Copier;
  /** Both sides as the plan saw them. */
  trees: Record<Side, Tree>;
  /** Takes what to remember, as steps succeed (the caller batches it into transactions). */
  remember(changes: StateChange[]): void;
}

/** Options of {@link executePlan}. */
export interface ExecuteOptions {
  /**
   * Steps run at once within a phase. Default 64, and for copies as many as
   * their bytes allow (transfer_window.ts).
   */
  window?: number;
  /** Told of each step when it has run (`error` if it failed). */
  onStep?(action: SyncAction, error?: unknown): void;
}

/** What running a plan did. */
export interface ExecutionResult {
  done: number;
  failed: { action: SyncAction; error: unknown }[];
  /** Steps not run because an earlier step they depend on failed. */
  skipped: SyncAction[];
  bytes: Record<Side, number>;
}

/** Runs `plan` (already ordered) against the sides. */
export async function executePlan(
  plan: Plan,
  sides: ExecutorSides,
  options: ExecuteOptions = {},
): Promise<ExecutionResult> {
  return await new Executor(sides, options).run(plan.actions);
}

class Executor {
  readonly #sides: ExecutorSides;
  readonly #options: ExecuteOptions;
  readonly #result: ExecutionResult = {
    done: 0,
    failed: [],
    skipped: [],
    bytes: { local: 0, remote: 0 },
  };
  /** Paths whose step failed: later steps on them, or inside them, wait for the next run. */
  readonly #blocked = new Set<string>();

  constructor(sides: ExecutorSides, options: ExecuteOptions) {
    this.#sides = sides;
    this.#options = options;
  }

  async run(actions: SyncAction[]): Promise<ExecutionResult> {
    for (const batch of batches(actions)) {
      const step = (action: SyncAction) => this.#step(action);
      if (batch[0].op === "copy" && this.#options.window === undefined) {
        // Copies are bounded by their bytes, as a tree transfer's files are: small files fill
        // requests of many files (no round trip each), large ones stream a few at a time.
        await runWindow(batch, (action) => copiedBytes(action), step);
      } else {
        await runPool(batch, this.#options.window ?? DEFAULT_WINDOW, step);
      }
    }
    return this.#result;
  }

  async #step(action: SyncAction): Promise<void> {
    if (pathsOf(action).some((path) => this.#isBlocked(path))) {
      this.#result.skipped.push(action);
      return;
    }
    try {
      this.#sides.remember(await this.#perform(action));
      this.#result.done++;
      this.#options.onStep?.(action);
    } catch (error) {
      for (const path of pathsOf(action)) this.#blocked.add(path);
      this.#result.failed.push({ action, error });
      this.#options.onStep?.(action, error);
    }
  }

  #isBlocked(path: string): boolean {
    for (let dir = path; dir !== ""; dir = dir.slice(0, Math.max(dir.lastIndexOf("/"), 0))) {
      if (this.#blocked.has(dir)) return true;
    }
    return false;
  }

  async #perform(action: SyncAction): Promise<StateChange[]> {
    const { trees, copier } = this.#sides;
    switch (action.op) {
      case "record":
        return [{ path: action.path, entry: baseOf(action.local, action.remote) }];
      case "forget":
        return [{ path: action.path }];
      case "copy": {
        const copy = action.to === "remote" ? copier.push : copier.pull;
        const arrived = await copy.call(copier, action.path, action.source, action.expected);
        this.#result.bytes[action.to] += action.source.size;
        return [{ path: action.path, entry: this.#agreed(action.to, arrived, action.source) }];
      }
      case "mkdir": {
        const made = await this.#sides[action.to].mkdir(action.path);
        const other = trees[otherSide(action.to)].get(action.path) ?? made;
        return [{ path: action.path, entry: this.#agreed(action.to, made, other) }];
      }
      case "delete":
        await this.#sides[action.to].delete(action.path, action.expected);
        return [{ path: action.path }];
      case "rename": {
        const moved = await this.#sides[action.to].rename(
          action.from,
          action.path,
          action.expected,
        );
        const other = trees[otherSide(action.to)].get(action.path)!;
        return [{ path: action.from }, {
          path: action.path,
          entry: this.#agreed(action.to, moved, other),
        }];
      }
      case "aside":
        await this.#sides[action.to].rename(action.path, action.aside, action.expected);
        return [{ path: action.path }];
    }
  }

  /** What to remember once side `side` holds `entry` and the other side `other`. */
  #agreed(side: Side, entry: SyncEntry, other: SyncEntry): BaseEntry {
    return side === "local" ? baseOf(entry, other) : baseOf(other, entry);
  }
}

/** The remembered state of a path both sides hold as `local` and `remote`. */
export function baseOf(local: SyncEntry, remote: SyncEntry): BaseEntry {
  return {
    kind: local.kind,
    size: local.size,
    sha256: local.kind === "file" ? local.sha256 ?? remote.sha256 : undefined,
    localMtimeNs: local.mtimeNs,
    localInode: local.inode,
    remoteMtimeNs: remote.mtimeNs,
  };
}

/** The paths a step touches. */
function pathsOf(action: SyncAction): string[] {
  if (action.op === "rename") return [action.from, action.path];
  if (action.op === "aside") return [action.path, action.aside];
  return [action.path];
}

/**
 * Consecutive steps that may run at once: one batch per phase, except that
 * folders are created one depth at a time and deleted one at a time (deepest first).
 */
/** The bytes a copy moves (what bounds the copies in flight). */
function copiedBytes(action: SyncAction): number {
  return action.op === "copy" ? action.source.size : 0;
}

function batches(actions: SyncAction[]): SyncAction[][] {
  const result: SyncAction[][] = [];
  let key = "";
  for (const action of actions) {
    const next = batchKey(action);
    if (next !== key || next === "delete-folder") result.push([]);
    result.at(-1)!.push(action);
    key = next;
  }
  return result;
}

function batchKey(action: SyncAction): string {
  if (action.op === "mkdir") return `mkdir-${action.path.split("/").length}`;
  if (action.op === "delete") {
    return action.expected.kind === "directory" ? "delete-folder" : "delete";
  }
  if (action.op === "record" || action.op === "forget") return "remember";
  return action.op;
}
