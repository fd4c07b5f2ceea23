/**
 * The planner: from the remembered state and what each side holds now, the
 * steps that bring both sides in step without losing a version.
 *
 * Two-way: a change on one side goes to the other; a path both changed
 * differently is a conflict, and both versions are kept (the server's under
 * the name, the local one beside it under a conflict name, on both sides;
 * where one side has a folder, the folder keeps the name). A file deleted on
 * one side and changed on the other is restored. One-way (`push`, `pull`):
 * the source's changes go to the target; a change made on the target is left
 * as it is and reported, except where the source changed the same path (then
 * the target's version is kept beside it) or, with `delete`, where the target
 * must match the source; a file the target created is never deleted.
 *
 * @module
 */

import { type Change, changeOf, isChange, isWrite } from "./changes.ts";
import { conflictName, isConflictCopy } from "./conflict_name.ts";
import type { KeptChange, Plan, SyncAction } from "./plan.ts";
import { orderActions } from "./plan.ts";
import { findRenames } from "./renames.ts";
import {
  type BaseEntry,
  isInside,
  otherSide,
  parentOf,
  sameContent,
  type Side,
  type SyncEntry,
  type Tree,
} from "./sync_entry.ts";

/** Which way changes go: both ways, or from one side only. */
export type SyncDirection = "both" | "push" | "pull";

/** Options of {@link reconcile}. */
export interface ReconcileOptions {
  /** Default "both". */
  direction?: SyncDirection;
  /** One-way only: also remove from the target what the source deleted. Default false. */
  delete?: boolean;
  /** This machine's name, for conflict names. */
  host: string;
  /** The time in conflict names. */
  now: Date;
}

/** The plan that brings `local` and `remote` in step, given the state `base` of the last sync. */
export function reconcile(
  base: Tree<BaseEntry>,
  local: Tree,
  remote: Tree,
  options: ReconcileOptions,
): Plan {
  return new Planner(base, local, remote, options).plan();
}

class Planner {
  readonly #base: Tree<BaseEntry>;
  readonly #trees: Record<Side, Tree>;
  readonly #options: Required<ReconcileOptions>;
  readonly #actions: SyncAction[] = [];
  readonly #plan: Plan = { actions: [], conflicts: [], kept: [] };
  /** Paths already decided by an earlier step (renames, conflicts). */
  readonly #decided = new Set<string>();
  /** Per side, the folders with something created or changed inside (computed when first needed). */
  readonly #changedFolders: Partial<Record<Side, Set<string>>> = {};

  constructor(base: Tree<BaseEntry>, local: Tree, remote: Tree, options: ReconcileOptions) {
    this.#base = base;
    this.#trees = { local, remote };
    this.#options = {
      ...options,
      direction: options.direction ?? "both",
      delete: options.delete ?? false,
    };
  }

  plan(): Plan {
    for (const side of this.#propagatingSides()) {
      const other = otherSide(side);
      for (const rename of findRenames(this.#base, this.#trees[side], this.#trees[other])) {
        // Renamed on both sides: let each name be decided on its own (nothing is lost).
        if (this.#decided.has(rename.from) || this.#decided.has(rename.path)) continue;
        this.#actions.push({ op: "rename", to: other, ...rename });
        this.#decided.add(rename.from).add(rename.path);
      }
    }
    for (const path of this.#allPaths()) {
      if (!this.#decided.has(path)) this.#decide(path);
    }
    this.#plan.actions = orderActions(this.#actions);
    return this.#plan;
  }

  /** Every path any of the three trees holds, once each, sorted (a folder before what is inside). */
  #allPaths(): string[] {
    const added = new Set<string>();
    for (const tree of [this.#trees.local, this.#trees.remote]) {
      for (const path of tree.keys()) if (!this.#base.has(path)) added.add(path);
    }
    return [...this.#base.keys(), ...added].sort();
  }

  /** The sides whose changes go to the other. */
  #propagatingSides(): Side[] {
    const direction = this.#options.direction;
    return direction === "both" ? ["local", "remote"] : [direction === "push" ? "local" : "remote"];
  }

  #change(side: Side, path: string): Change {
    return changeOf(this.#base.get(path), this.#trees[side].get(path));
  }

  #decide(path: string): void {
    const local = this.#change("local", path);
    const remote = this.#change("remote", path);
    if (!isChange(local) && !isChange(remote)) return this.#recordIfStale(path);
    if (this.#options.direction === "both") return this.#decideTwoWay(path, local, remote);
    const source: Side = this.#options.direction === "push" ? "local" : "remote";
    const changes = { local, remote };
    this.#decideOneWay(path, source, changes[source], changes[otherSide(source)]);
  }

  #decideTwoWay(path: string, local: Change, remote: Change): void {
    if (!isChange(remote)) return this.#propagate(path, "local");
    if (!isChange(local)) return this.#propagate(path, "remote");
    const [mine, theirs] = [this.#trees.local.get(path), this.#trees.remote.get(path)];
    if (sameContent(mine, theirs)) return this.#settle(path);
    if (mine === undefined) return this.#copyOrMkdir("local", path, theirs!, "restore");
    if (theirs === undefined) return this.#copyOrMkdir("remote", path, mine, "restore");
    this.#conflict(path, "both");
  }

  #decideOneWay(path: string, source: Side, changed: Change, targetChange: Change): void {
    const target = otherSide(source);
    const [have, want] = [this.#trees[target].get(path), this.#trees[source].get(path)];
    if (!isChange(targetChange)) {
      if (changed === "deleted" && !this.#options.delete) return;
      return this.#propagate(path, source);
    }
    if (sameContent(have, want)) return this.#settle(path);
    if (want === undefined) {
      // Without --delete the target may hold more than the source: nothing to say.
      if (!this.#options.delete || isConflictCopy(path)) return;
      const why = changed === "deleted" ? "deleted on the source but changed here" : "created here";
      return this.#keep(path, target, `${why} since the last sync: a sync never deletes that`);
    }
    if (have === undefined) return this.#copyOrMkdir(target, path, want, "restore");
    if (!isChange(changed) && !this.#options.delete) {
      return this.#keep(path, target, "changed here since the last sync: a one-way sync leaves it");
    }
    this.#conflict(path, source);
  }

  /** Takes `from`'s change of `path` to the other side, whose entry there is unchanged. */
  #propagate(path: string, from: Side): void {
    const to = otherSide(from);
    const [source, target] = [this.#trees[from].get(path), this.#trees[to].get(path)];
    if (source === undefined) return this.#deleteUnlessKept(path, to);
    if (target?.kind === "directory" && source.kind === "file" && this.#changedInside(path, to)) {
      // The other side changed something in the folder this side replaced by a file: keep both.
      return this.#conflict(path, this.#options.direction === "both" ? "both" : from);
    }
    if (target !== undefined && target.kind !== source.kind) {
      this.#actions.push({ op: "delete", to, path, expected: target });
      return this.#copyOrMkdir(to, path, source, "update");
    }
    this.#copyOrMkdir(to, path, source, target === undefined ? "create" : "update", target);
  }

  #deleteUnlessKept(path: string, to: Side): void {
    const target = this.#trees[to].get(path)!;
    if (target.kind === "directory" && this.#changedInside(path, to)) {
      // What the other side changed inside is restored, so the folder stays on both sides.
      return this.#copyOrMkdir(otherSide(to), path, target, "restore");
    }
    this.#actions.push({ op: "delete", to, path, expected: target });
  }

  /** Whether side `side` created or changed anything inside the folder `path`. */
  #changedInside(path: string, side: Side): boolean {
    if (this.#changedFolders[side] === undefined) {
      const folders = new Set<string>();
      for (const inner of this.#trees[side].keys()) {
        if (!isWrite(this.#change(side, inner))) continue;
        for (let dir = parentOf(inner); dir !== "" && !folders.has(dir); dir = parentOf(dir)) {
          folders.add(dir);
        }
      }
      this.#changedFolders[side] = folders;
    }
    return this.#changedFolders[side].has(path);
  }

  #copyOrMkdir(
    to: Side,
    path: string,
    source: SyncEntry,
    reason: "create" | "update" | "restore",
    expected?: SyncEntry,
  ): void {
    if (source.kind === "directory") {
      if (expected?.kind !== "directory") this.#actions.push({ op: "mkdir", to, path });
      return;
    }
    this.#actions.push({ op: "copy", to, path, source, expected, reason });
  }

  /**
   * Both versions of `path` are kept. `winner` keeps the name ("both": two-way,
   * the folder if only one is a folder, else the server's); the other version
   * moves aside on its own side and, two-way, is copied to the winner's side too.
   */
  #conflict(path: string, winner: Side | "both"): void {
    const twoWay = winner === "both";
    const [local, remote] = [this.#trees.local.get(path)!, this.#trees.remote.get(path)!];
    const keeper: Side = twoWay
      ? (local.kind === "directory" && remote.kind === "file" ? "local" : "remote")
      : winner;
    const loser = otherSide(keeper);
    const [kept, moved] = keeper === "local" ? [local, remote] : [remote, local];
    const aside = conflictName(path, this.#options.now, this.#options.host);
    this.#actions.push({ op: "aside", to: loser, path, aside, expected: moved });
    if (twoWay) this.#copyOrMkdir(keeper, aside, moved, "create");
    this.#copyOrMkdir(loser, path, kept, "update");
    this.#plan.conflicts.push({ path, aside, kept: keeper });
    this.#decided.add(path);
    if (moved.kind === "directory") this.#decideInside(path);
  }

  /** Marks everything inside the folder `path` decided: it moved aside with the folder. */
  #decideInside(path: string): void {
    for (const tree of [this.#base, this.#trees.local, this.#trees.remote]) {
      for (const inner of tree.keys()) if (isInside(inner, path)) this.#decided.add(inner);
    }
  }

  #keep(path: string, side: Side, reason: string): void {
    const kept: KeptChange = { path, side, reason };
    this.#plan.kept.push(kept);
  }

  /** Both sides agree: remember it, or forget it if neither has it. */
  #settle(path: string): void {
    const [local, remote] = [this.#trees.local.get(path), this.#trees.remote.get(path)];
    if (local === undefined || remote === undefined) {
      if (this.#base.has(path)) this.#actions.push({ op: "forget", path });
      return;
    }
    this.#actions.push({ op: "record", path, local, remote });
  }

  /** Nothing changed: refresh the remembered times and inode if they moved (a touch, a copy back). */
  #recordIfStale(path: string): void {
    const base = this.#base.get(path);
    const [local, remote] = [this.#trees.local.get(path), this.#trees.remote.get(path)];
    if (base === undefined || local === undefined || remote === undefined) return;
    // A folder's time moves with every change inside it, and sync does not keep folder times.
    if (base.kind === "directory") return;
    const stale = base.localMtimeNs !== local.mtimeNs || base.localInode !== local.inode ||
      base.remoteMtimeNs !== remote.mtimeNs;
    if (stale) this.#actions.push({ op: "record", path, local, remote });
  }
}
