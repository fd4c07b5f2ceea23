/**
 * A walk of every entry under a folder of a {@link Storage}, in the order
 * of the entries' paths as UTF-8 bytes: the order SQLite keeps text in, so
 * the walk and the journal's index (`Journal.entriesAfter`) can be read
 * side by side. That order is not a plain depth-first one: "/a-b" and
 * "/a.txt" come between the folder "/a" and "/a/x" ("-" and "." sort before
 * "/"), so each folder's entries are sorted with its subfolders' *contents*
 * placed at `name/`.
 *
 * {@link Storage.walk} walks in this order; {@link walkByListing} is the walk
 * a backend can offer through its listings. Either holds one listing per
 * level, never the whole tree. Links and other things that are not folders
 * are yielded, never entered.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { type EntryInfo, type Storage, StorageError, type WalkedEntry } from "./storage.ts";

export type { WalkedEntry };

/**
 * Orders strings as their UTF-8 bytes do, which is the order of their code
 * points (JavaScript's `<` compares UTF-16 units: U+FF5E before U+1F600's
 * surrogates, the other way round in UTF-8).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800–DFFF, code points above U+FFFF) rank after U+E000–FFFF. */
function codeUnitRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/** The absolute path of `name` in the folder `folder`. */
export function childPath(folder: string, name: string): string {
  return folder === "/" ? `/${name}` : `${folder}/${name}`;
}

/** One entry of a folder in walk order: the entry, or (for a folder) its contents. */
export interface WalkItem {
  key: string;
  entry: EntryInfo;
  /** The folder's contents rather than its entry. */
  contents: boolean;
}

/**
 * A folder's entries in walk order: each folder's contents placed at
 * `name/`, so that the walk's paths come in the order of their UTF-8 bytes.
 */
export function walkOrder(entries: EntryInfo[]): WalkItem[] {
  const items: WalkItem[] = [];
  for (const entry of entries) {
    items.push({ key: entry.name, entry, contents: false });
    if (entry.kind === "directory") items.push({ key: `${entry.name}/`, entry, contents: true });
  }
  return items.sort((a, b) => compareCodePoints(a.key, b.key));
}

interface Level {
  folder: string;
  items: WalkItem[];
  next: number;
}

/**
 * Every entry under `folder` (not `folder` itself), in the order of their
 * paths' UTF-8 bytes, listed folder by folder through {@link Storage.list}:
 * what a backend's {@link Storage.walk} can be when it knows no quicker way.
 * A folder that is gone by the time the walk lists it (after its entry was
 * yielded) has nothing in it; any other failure to list one ends the walk
 * with that error, so that a folder the walk could not read never looks
 * empty.
 */
export async function* walkByListing(
  storage: Storage,
  folder: string,
): AsyncGenerator<WalkedEntry> {
  const stack: Level[] = [{ folder, items: await itemsOf(storage, folder), next: 0 }];
  while (stack.length > 0) {
    const level = stack[stack.length - 1];
    if (level.next === level.items.length) {
      stack.pop();
      continue;
    }
    const item = level.items[level.next++];
    const path = childPath(level.folder, item.entry.name);
    if (item.contents) {
      stack.push({ folder: path, items: await itemsOf(storage, path), next: 0 });
    } else {
      yield { path, entry: item.entry };
    }
  }
}

async function itemsOf(storage: Storage, folder: string): Promise<WalkItem[]> {
  try {
    return walkOrder(await storage.list(folder));
  } catch (error) {
    const gone = error instanceof StorageError &&
      (error.code === STATUS.NOT_FOUND || error.code === STATUS.NOT_A_DIRECTORY);
    if (gone) return [];
    throw error;
  }
}
