/**
 * Walking a tree on either side for `put -r` and `get -r`: the folders
 * (parents first), the files with their sizes, and what is neither (links,
 * special files), which trees skip. The remote walk lists one depth of
 * folders at a time, all folders of a depth at once.
 *
 * @module
 */

import { join, posix } from "node:path";
import type { ClientConnection } from "./connection.ts";
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

/** Walks the remote folder `root`, one depth at a time. */
export async function walkRemote(connection: ClientConnection, root: string): Promise<TreeListing> {
  const tree = newListing();
  const top = (await connection.stat(root)).entry;
  tree.directoryMtimes.set("", top.mtimeMs);
  if (top.mode) tree.directoryModes.set("", top.mode);
  let level = [""];
  while (level.length > 0) {
    const listings = await Promise.all(level.map((dir) => connection.list(posix.join(root, dir))));
    const nextLevel: string[] = [];
    listings.forEach((entries, index) => {
      for (const entry of entries) {
        const path = level[index] === "" ? entry.name : `${level[index]}/${entry.name}`;
        if (entry.kind === "directory") {
          nextLevel.push(path);
          tree.directoryMtimes.set(path, entry.mtimeMs);
          if (entry.mode) tree.directoryModes.set(path, entry.mode);
        } else if (entry.kind === "file") {
          tree.files.push({ path, size: entry.size, mode: entry.mode || undefined });
        } else tree.skipped.push({ path, kind: entry.kind === "symlink" ? "symlink" : "other" });
      }
    });
    tree.directories.push(...nextLevel);
    level = nextLevel;
  }
  return tree;
}
