/**
 * The walk of a sync's local folder: every file and folder in it with what
 * `lstat` says of each file, packed in columns, without reading any file.
 * It needs nothing from the server or the remembered state, so it can run in
 * a worker while the main thread connects and loads the state
 * (`local_listing_worker.ts`), and its columns cross to the main thread in
 * one copy instead of an object per path.
 *
 * @module
 */

import { StorageError } from "../storage/storage.ts";
import { MAX_COMPONENT_BYTES, RESERVED_NAME, resolveVirtualPath } from "../storage/virtual_path.ts";
import { MAX_PATH_BYTES, MAX_VIRTUAL_PATH_BYTES } from "../protocol/constants.ts";
import type { PathFilter } from "./own_files.ts";

/** A path the scan left out, and why. */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** Entry kinds in {@link LocalListing.kinds}. */
export const LISTED_KIND = { directory: 0, file: 1 } as const;

/**
 * Everything under a local folder in walk order (a folder before what is
 * inside it): entry `i` is `paths[i]`, of kind `kinds[i]`; for a file, its
 * size, modification time (ms) and inode (NaN if the platform has none).
 */
export interface LocalListing {
  paths: string[];
  kinds: Uint8Array;
  sizes: Float64Array;
  mtimesMs: Float64Array;
  inodes: Float64Array;
  skipped: SkippedPath[];
}

/** Lists `root` (normalised, no trailing slash), leaving out what `ignore` ignores. */
export function listLocal(root: string, ignore: PathFilter): LocalListing {
  const columns = new Columns();
  const skipped: SkippedPath[] = [];
  const pending = [""];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const prefix = dir === "" ? "" : `${dir}/`;
    for (const item of Deno.readDirSync(dir === "" ? root : `${root}/${dir}`)) {
      const path = prefix + item.name;
      const refusal = refusedPath(path, item.name, dir === "");
      if (refusal !== undefined) {
        skipped.push({ path, reason: refusal });
      } else if (ignore.ignores(path, item.isDirectory)) {
        continue;
      } else if (item.isDirectory) {
        // Sync keeps no folder times or inodes: the listing says all it needs.
        columns.push(path, LISTED_KIND.directory, 0, 0, NaN);
        pending.push(path);
      } else if (item.isFile) {
        // One synchronous call per file: much cheaper than an async op for a stat.
        const info = Deno.lstatSync(`${root}/${path}`);
        const mtimeMs = info.mtime?.getTime() ?? 0;
        columns.push(path, LISTED_KIND.file, info.size, mtimeMs, info.ino ?? NaN);
      } else {
        skipped.push({ path, reason: item.isSymlink ? "a symbolic link" : "a special file" });
      }
    }
  }
  return { ...columns.finish(), skipped };
}

/** The entries of `listing` at `paths`, in walk order (what is not in it is left out). */
export function listingAt(listing: LocalListing, paths: ReadonlySet<string>): LocalListing {
  const columns = new Columns();
  const { kinds, sizes, mtimesMs, inodes } = listing;
  listing.paths.forEach((path, index) => {
    if (paths.has(path)) {
      columns.push(path, kinds[index], sizes[index], mtimesMs[index], inodes[index]);
    }
  });
  return { ...columns.finish(), skipped: listing.skipped };
}

/** Growable columns of a listing. */
class Columns {
  paths: string[] = [];
  #kinds = new Uint8Array(1024);
  #numbers = [new Float64Array(1024), new Float64Array(1024), new Float64Array(1024)];

  push(path: string, kind: number, size: number, mtimeMs: number, inode: number): void {
    const index = this.paths.length;
    if (index === this.#kinds.length) this.#grow();
    this.paths.push(path);
    this.#kinds[index] = kind;
    this.#numbers[0][index] = size;
    this.#numbers[1][index] = mtimeMs;
    this.#numbers[2][index] = inode;
  }

  #grow(): void {
    const kinds = new Uint8Array(this.#kinds.length * 2);
    kinds.set(this.#kinds);
    this.#kinds = kinds;
    this.#numbers = this.#numbers.map((column) => {
      const grown = new Float64Array(column.length * 2);
      grown.set(column);
      return grown;
    });
  }

  finish(): Omit<LocalListing, "skipped"> {
    const length = this.paths.length;
    return {
      paths: this.paths,
      kinds: this.#kinds.slice(0, length),
      sizes: this.#numbers[0].slice(0, length),
      mtimesMs: this.#numbers[1].slice(0, length),
      inodes: this.#numbers[2].slice(0, length),
    };
  }
}

/** Names of printable ASCII but the backslash: nothing in them the server refuses. */
const PLAIN_NAME = /^[\x20-\x5b\x5d-\x7e]+$/;
/** Paths this long or shorter (in UTF-16 units) are within every length limit in bytes. */
const SURELY_SHORT = Math.floor(Math.min(MAX_PATH_BYTES, MAX_VIRTUAL_PATH_BYTES) / 3);

/**
 * Why the server would refuse `path` (control characters, backslashes,
 * length), if it would; `name` is its last component, in the top folder if
 * `top`. The folder it is in passed already. A plain, short name is let
 * through at once (most of a tree); any other is judged by the server's own
 * rules.
 */
function refusedPath(path: string, name: string, top: boolean): string | undefined {
  const plain = name.length <= MAX_COMPONENT_BYTES && path.length <= SURELY_SHORT &&
    !(top && name === RESERVED_NAME) && PLAIN_NAME.test(name);
  if (plain) return undefined;
  try {
    resolveVirtualPath("/", path);
  } catch (error) {
    return error instanceof StorageError ? error.message : String(error);
  }
}
