/**
 * Walking a tree on either side for `put -r` and `get -r`, as a stream of
 * its entries: every folder before what it holds, files with their sizes,
 * and what is neither (links, special files), which trees skip. Nothing is
 * collected: a transfer starts on the first files while the walk goes on,
 * and holds only the folders still to be walked, whatever the number of
 * files. The remote walk lists up to {@link REMOTE_LISTINGS_IN_FLIGHT}
 * folders at once on the one connection, so it costs a round trip per
 * level of depth (or per that many folders), not per folder.
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

/** A folder of a tree ("" is the top): its mtime, and permission bits where the listing has them. */
export interface TreeFolder {
  path: string;
  mtimeMs: number;
  mode?: number;
}

/** One entry of a walk; a folder comes before everything in it. */
export type TreeItem =
  | { kind: "folder"; folder: TreeFolder }
  | { kind: "file"; file: TreeFile }
  | { kind: "skipped"; skipped: SkippedEntry }
  /** A local entry the walk could not read (gone since it was listed, or not readable). */
  | { kind: "unreadable"; path: string; error: Error };

/** Folders of a remote walk being listed at once. */
export const REMOTE_LISTINGS_IN_FLIGHT = 32;

function mtimeOf(info: Deno.FileInfo): number {
  return Math.floor(info.mtime?.getTime() ?? Date.now());
}

function childPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/**
 * Walks the local folder `root`, folder by folder, each one's entries by
 * name. An entry below the top that cannot be read (removed while the walk
 * goes on, a folder it may not list) is given as `unreadable`, and the walk
 * goes on; only the top folder failing ends it.
 */
export async function* walkLocal(root: string): AsyncGenerator<TreeItem> {
  const info = await Deno.stat(root).catch((error) => Promise.reject(localError(error, root)));
  if (!info.isDirectory) throw localError(new Deno.errors.NotADirectory(), root);
  yield { kind: "folder", folder: { path: "", mtimeMs: mtimeOf(info) } };
  const toWalk = new Queue<string>([""]);
  for (let dir = toWalk.take(); dir !== undefined; dir = toWalk.take()) {
    const entries = [];
    try {
      for await (const entry of Deno.readDir(join(root, dir))) entries.push(entry);
    } catch (error) {
      if (dir === "") throw localError(error, root);
      yield unreadable(root, dir, error);
      continue;
    }
    entries.sort((a, b) => a.name < b.name ? -1 : 1);
    for (const entry of entries) {
      const path = childPath(dir, entry.name);
      if (!entry.isDirectory && !entry.isFile) {
        yield skippedItem(path, entry.isSymlink);
        continue;
      }
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(join(root, path));
      } catch (error) {
        yield unreadable(root, path, error);
        continue;
      }
      if (entry.isDirectory) {
        toWalk.put(path);
        yield { kind: "folder", folder: { path, mtimeMs: mtimeOf(info) } };
      } else yield { kind: "file", file: { path, size: info.size } };
    }
  }
}

function unreadable(root: string, path: string, error: unknown): TreeItem {
  return { kind: "unreadable", path, error: localError(error, join(root, path)) };
}

/**
 * Walks the remote folder `root` (whose entry is `top`, if the caller has
 * it already): each folder is listed as soon as its parent's listing has
 * arrived and a place is free, its entries given in the server's order.
 */
export async function* walkRemote(
  connection: ClientConnection,
  root: string,
  top?: WireEntry,
): AsyncGenerator<TreeItem> {
  top ??= (await connection.stat(root)).entry;
  yield { kind: "folder", folder: { path: "", mtimeMs: top.mtimeMs, mode: top.mode || undefined } };
  const toList = new Queue<string>([""]);
  const listing = new Map<string, Promise<{ dir: string; entries: WireEntry[] }>>();
  for (;;) {
    while (listing.size < REMOTE_LISTINGS_IN_FLIGHT) {
      const dir = toList.take();
      if (dir === undefined) break;
      const listed = connection.list(posix.join(root, dir)).then((entries) => ({ dir, entries }));
      listed.catch(() => {}); // Raced below; until then a failure must not count as unhandled.
      listing.set(dir, listed);
    }
    if (listing.size === 0) return;
    const { dir, entries } = await Promise.race(listing.values());
    listing.delete(dir);
    for (const entry of entries) {
      const path = childPath(dir, entry.name);
      if (entry.kind === "directory") {
        toList.put(path);
        yield {
          kind: "folder",
          folder: { path, mtimeMs: entry.mtimeMs, mode: entry.mode || undefined },
        };
      } else if (entry.kind === "file") {
        yield { kind: "file", file: { path, size: entry.size, mode: entry.mode || undefined } };
      } else yield skippedItem(path, entry.kind === "symlink");
    }
  }
}

function skippedItem(path: string, symlink: boolean): TreeItem {
  return { kind: "skipped", skipped: { path, kind: symlink ? "symlink" : "other" } };
}

/** First in, first out, giving up the memory of what was taken. */
class Queue<T> {
  #items: T[];
  #head = 0;

  constructor(items: T[]) {
    this.#items = items;
  }

  put(item: T): void {
    this.#items.push(item);
  }

  take(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
