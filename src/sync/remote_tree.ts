/**
 * The remote side's tree as sync last saw it, brought up to date from the
 * server's change journal: only what changed crosses the network.
 *
 * @module
 */

import type { JournalChange } from "../storage/change_journal.ts";
import { isInside, type SyncEntry } from "./sync_entry.ts";

/** What applying journal changes needs besides them. */
export interface JournalApplyResult {
  /**
   * Folders (relative paths, "" for the top) whose contents the journal
   * cannot tell, because something was moved in from outside the synced
   * folder: list them again.
   */
  relist: string[];
  /** Every path the changes set or removed (relative): what to write down again, and no more. */
  touched: Set<string>;
}

/**
 * Applies `changes` (absolute server paths) to `tree` (paths relative to
 * `root`), in order. Changes outside `root` are ignored; a move from outside
 * into it asks for the moved folder to be listed.
 */
export function applyJournal(
  tree: Map<string, SyncEntry>,
  root: string,
  changes: Iterable<JournalChange>,
): JournalApplyResult {
  const relist: string[] = [];
  const touched = new Set<string>();
  const relative = (path: string) => relativeTo(root, path);
  for (const change of changes) {
    const path = relative(change.path);
    if (change.op === "rename") {
      const from = change.from === undefined ? undefined : relative(change.from);
      if (path !== undefined) removeTree(tree, path, touched);
      if (from !== undefined && path !== undefined) moveTree(tree, from, path, touched);
      else if (from !== undefined) removeTree(tree, from, touched);
      else if (path !== undefined) relist.push(path);
      continue;
    }
    if (path === undefined || path === "") continue;
    if (change.op === "delete") {
      removeTree(tree, path, touched);
    } else {
      // A file written where a folder was (or the reverse) replaced it and its contents.
      const existing = tree.get(path);
      if (existing !== undefined && existing.kind !== change.kind) {
        removeTree(tree, path, touched);
      }
      touched.add(path);
      tree.set(path, {
        kind: change.kind ?? "file",
        size: change.size ?? 0,
        mtimeNs: BigInt(change.mtimeMs ?? 0) * 1_000_000n,
        sha256: change.sha256,
      });
    }
  }
  return { relist, touched };
}

/** `path` relative to `root` ("" for `root` itself), or undefined if it lies outside. */
export function relativeTo(root: string, path: string): string | undefined {
  if (root === "/") return path === "/" ? "" : path.slice(1);
  if (path === root) return "";
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : undefined;
}

/** Removes `path` and, if it is a folder, everything in it (only a folder has anything inside). */
function removeTree(tree: Map<string, SyncEntry>, path: string, touched: Set<string>): void {
  if (path === "") {
    for (const inner of tree.keys()) touched.add(inner);
    tree.clear();
    return;
  }
  const removed = tree.get(path);
  tree.delete(path);
  touched.add(path);
  if (removed?.kind !== "directory") return;
  for (const inner of [...tree.keys()]) {
    if (!isInside(inner, path)) continue;
    tree.delete(inner);
    touched.add(inner);
  }
}

function moveTree(tree: Map<string, SyncEntry>, from: string, to: string, touched: Set<string>) {
  const moved: [string, SyncEntry][] = [];
  for (const [inner, entry] of tree) {
    if (inner === from || isInside(inner, from)) moved.push([to + inner.slice(from.length), entry]);
  }
  removeTree(tree, from, touched);
  for (const [path, entry] of moved) {
    tree.set(path, entry);
    touched.add(path);
  }
}
