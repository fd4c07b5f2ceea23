/**
 * The local backend's {@link Storage.walk}: down from one folder held open,
 * each subfolder entered through its open parent ({@link PinnedDirectory.enter}),
 * so that a walk of a tree costs a listing and an `lstat` per entry and no
 * walk from the root per folder, and stays inside the folder it started in
 * whatever is swapped meanwhile. The descriptors held are those of the
 * folders on the way down to where the walk is, one per level.
 *
 * @module
 */

import { toStorageError } from "./fs_errors.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";
import type { EntryInfo, WalkedEntry } from "./storage.ts";
import { childPath, type WalkItem, walkOrder } from "./tree_walk.ts";

/** Entries walked between two turns of the event loop: other sessions run meanwhile. */
const WALK_BATCH = 2048;

/** What the walk needs to know of the backend. */
export interface LocalWalkContext {
  /** The entry of `name` as its `lstat` describes it. */
  entryOf(name: string, info: Deno.FileInfo): EntryInfo;
  /** Whether `folder` is the user's root (whose reserved folder is never shown). */
  isRoot(folder: PinnedDirectory): boolean;
  /** The reserved folder's name at the root. */
  reserved: string;
}

interface Level {
  dir: PinnedDirectory;
  folder: string;
  items: WalkItem[];
  next: number;
}

/**
 * Every entry under `top` (whose virtual path is `folder`), in walk order.
 * Takes a holder of `top` of its own and closes every folder it opened,
 * however the walk ends.
 */
export async function* walkPinned(
  top: PinnedDirectory,
  folder: string,
  context: LocalWalkContext,
): AsyncGenerator<WalkedEntry> {
  const stack: Level[] = [];
  let walked = 0;
  try {
    const held = top.retain();
    const first: Level = { dir: held, folder, items: [], next: 0 };
    stack.push(first);
    first.items = itemsIn(held, folder, context);
    while (stack.length > 0) {
      const level = stack[stack.length - 1];
      if (level.next === level.items.length) {
        stack.pop()!.dir.close();
        continue;
      }
      const item = level.items[level.next++];
      const path = childPath(level.folder, item.entry.name);
      if (++walked % WALK_BATCH === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      if (!item.contents) {
        yield { path, entry: item.entry };
        continue;
      }
      // Gone or replaced since it was listed: nothing in it, as for a walk by listing.
      const child = enterChild(level.dir, item.entry.name, path);
      if (child === null) continue;
      const below: Level = { dir: child, folder: path, items: [], next: 0 };
      stack.push(below); // Held by the stack before it is listed: closed however that ends.
      below.items = itemsIn(child, path, context);
    }
  } finally {
    for (const level of stack) level.dir.close();
  }
}

/** The folder `name` of `dir` (at `path`), or null if it is gone or was replaced. */
function enterChild(dir: PinnedDirectory, name: string, path: string): PinnedDirectory | null {
  try {
    return dir.enter(name).child;
  } catch (error) {
    throw toStorageError(error, path);
  }
}

/**
 * The entries of `dir` (at `folder`) in walk order; names gone between the
 * listing and their `lstat` left out.
 */
function itemsIn(dir: PinnedDirectory, folder: string, context: LocalWalkContext): WalkItem[] {
  const atRoot = context.isRoot(dir);
  const entries: EntryInfo[] = [];
  try {
    for (const item of Deno.readDirSync(dir.path)) {
      if (atRoot && item.name === context.reserved) continue;
      const info = dir.lstat(item.name);
      if (info !== null) entries.push(context.entryOf(item.name, info));
    }
  } catch (error) {
    throw toStorageError(error, folder);
  }
  return walkOrder(entries);
}
