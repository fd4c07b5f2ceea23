/**
 * Recognising renames and moves, so they are done as a rename on the other
 * side and move no file bytes: a file that disappeared and one that appeared
 * with the same content (and, locally, the same inode).
 *
 * @module
 */

import { type BaseEntry, parentOf, sameContent, type SyncEntry, type Tree } from "./sync_entry.ts";

/** A rename seen on one side, to be done on the other: `from` there is still `expected`. */
export interface SeenRename {
  from: string;
  path: string;
  expected: SyncEntry;
}

/**
 * The renames `side` made since the last sync that can be repeated on
 * `other`: the old name is unchanged there and the new name free. A file
 * matches by inode where the side reports one, otherwise only by a content
 * hash that no other candidate shares; empty files never match by content.
 */
export function findRenames(base: Tree<BaseEntry>, side: Tree, other: Tree): SeenRename[] {
  const gone = new Map<string, BaseEntry>();
  for (const [path, entry] of base) {
    if (entry.kind === "file" && !side.has(path) && sameContent(entry, other.get(path))) {
      gone.set(path, entry);
    }
  }
  if (gone.size === 0) return [];
  const byInode = new Map<number, string>();
  const byHash = new Map<string, string[]>();
  for (const [path, entry] of gone) {
    if (entry.localInode !== undefined) byInode.set(entry.localInode, path);
    if (entry.size > 0) byHash.set(entry.sha256!, [...(byHash.get(entry.sha256!) ?? []), path]);
  }
  const appeared: [string, SyncEntry][] = [];
  for (const [path, entry] of side) {
    if (entry.kind !== "file" || base.has(path) || other.has(path)) continue;
    if (foldersOnly(other, path)) appeared.push([path, entry]);
  }
  const appearedPerHash = new Map<string, number>();
  for (const [, entry] of appeared) {
    appearedPerHash.set(entry.sha256!, (appearedPerHash.get(entry.sha256!) ?? 0) + 1);
  }
  const renames: SeenRename[] = [];
  const used = new Set<string>();
  for (const [path, entry] of appeared) {
    const byNode = entry.inode === undefined ? undefined : byInode.get(entry.inode);
    const candidates = byHash.get(entry.sha256!) ?? [];
    const unique = candidates.length === 1 && appearedPerHash.get(entry.sha256!) === 1;
    const from = byNode !== undefined && gone.get(byNode)!.sha256 === entry.sha256
      ? byNode
      : unique
      ? candidates[0]
      : undefined;
    if (from === undefined || used.has(from)) continue;
    used.add(from);
    renames.push({ from, path, expected: other.get(from)! });
  }
  return renames;
}

/** Whether nothing but folders (or nothing) lies on the way to `path` in `tree`. */
function foldersOnly(tree: Tree, path: string): boolean {
  for (let dir = parentOf(path); dir !== ""; dir = parentOf(dir)) {
    const entry = tree.get(dir);
    if (entry !== undefined) return entry.kind === "directory";
  }
  return true;
}
