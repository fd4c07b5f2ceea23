/**
 * Walking a tree on either side for `put -r` and `get -r`: the folders
 * (parents first), the files with their sizes, and what is neither (links,
 * special files), which trees skip. The remote walk lists every folder as
 * soon as its parent's listing is in.
 *
 * @module
 */

import { join, posix } from "node:path";
import type { ClientConnection } from "./connection.ts";
import type { WireEntry } from "../protocol/messages.ts";
import { localError } from "./errors.ts";

/** An entry a tree transfer left out: a symbolic link, or another special file. */
export interface SkippedEntry {
  path: string;
  kind: "symlink" | "other";
}

/** A file of a tree: its relative path, size, and permission bits where the listing has them. */
export interface TreeFile {
  path: string;
  size: number;
  mode?: number;
}

/** A whole tree, as one side has it. */
export interface TreeListing {
  /** Relative directory paths, parents before children ("" is the top). */
  directories: string[];
  /** Modification time of each directory, by relative path. */
  directoryMtimes: Map<string, number>;
  /** Permission bits of each directory, where the listing carries them (remote trees). */
  directoryModes: Map<string, number>;
  files: TreeFile[];
  skipped: SkippedEntry[];
}

function newListing(): TreeListing {
  return {
    directories: [""],
    directoryMtimes: new Map(),
    directoryModes: new Map(),
    files: [],
    skipped: [],
  };
}

function mtimeOf(info: Deno.FileInfo): number {
  return Math.floor(info.mtime?.getTime() ?? Date.now());
}

/** Walks the local folder `root`. */
export async function walkLocal(root: string): Promise<TreeListing> {
  const tree = newListing();
  const info = await Deno.stat(root).catch((error) => Promise.reject(localError(error, root)));
  if (!info.isDirectory) throw localError(new Deno.errors.NotADirectory(), root);
  for (let index = 0; index < tree.directories.length; index++) {
    const dir = tree.directories[index];
    tree.directoryMtimes.set(dir, mtimeOf(Deno.statSync(join(root, dir))));
    const entries = [];
    for await (const entry of Deno.readDir(join(root, dir))) entries.push(entry);
    entries.sort((a, b) => a.name < b.name ? -1 : 1);
    for (const entry of entries) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) tree.directories.push(path);
      else if (entry.isFile) {
        tree.files.push({ path, size: Deno.statSync(join(root, path)).size });
      } else tree.skipped.push({ path, kind: entry.isSymlink ? "symlink" : "other" });
    }
  }
  return tree;
}

/**
 * Walks the remote folder `root` (whose entry is `top`, if the caller has
 * it already). Each folder is listed as soon as its parent's listing has
 * arrived, all of them on the one connection at once: the walk costs a
 * round trip per level of depth, not per folder.
 */
export async function walkRemote(
  connection: ClientConnection,
  root: string,
  top?: WireEntry,
): Promise<TreeListing> {
  const tree = newListing();
  top ??= (await connection.stat(root)).entry;
  tree.directoryMtimes.set("", top.mtimeMs);
  if (top.mode) tree.directoryModes.set("", top.mode);
  const listings = new Map<string, WireEntry[]>();
  const listFolder = async (dir: string): Promise<void> => {
    const entries = await connection.list(posix.join(root, dir));
    listings.set(dir, entries);
    const folders = entries.filter((entry) => entry.kind === "directory");
    await Promise.all(folders.map((entry) => listFolder(childPath(dir, entry.name))));
  };
  await listFolder("");
  // Parents before children, each folder's entries in the server's order, as the walk by depth had them.
  for (let index = 0; index < tree.directories.length; index++) {
    const dir = tree.directories[index];
    for (const entry of listings.get(dir)!) addRemoteEntry(tree, childPath(dir, entry.name), entry);
    listings.delete(dir);
  }
  return tree;
}

function childPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

function addRemoteEntry(tree: TreeListing, path: string, entry: WireEntry): void {
  if (entry.kind === "directory") {
    tree.directories.push(path);
    tree.directoryMtimes.set(path, entry.mtimeMs);
    if (entry.mode) tree.directoryModes.set(path, entry.mode);
  } else if (entry.kind === "file") {
    tree.files.push({ path, size: entry.size, mode: entry.mode || undefined });
  } else tree.skipped.push({ path, kind: entry.kind === "symlink" ? "symlink" : "other" });
}
