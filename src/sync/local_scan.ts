/**
 * The local side of a sync: walks the folder, and hashes only the files whose
 * size, modification time or inode differ from the remembered state.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { hashFileFromStart } from "../shared/file_hash.ts";
import { StorageError } from "../storage/storage.ts";
import { MAX_COMPONENT_BYTES, RESERVED_NAME, resolveVirtualPath } from "../storage/virtual_path.ts";
import { MAX_PATH_BYTES, MAX_VIRTUAL_PATH_BYTES } from "../protocol/constants.ts";
import type { PathFilter } from "./own_files.ts";
import type { BaseEntry, SyncEntry, Tree } from "./sync_entry.ts";

/** Options of {@link scanLocal}. */
export interface LocalScanOptions {
  /** The remembered state: a file that matches it is not read again. */
  base: Tree<BaseEntry>;
  ignore: PathFilter;
}

/** A path the scan left out, and why. */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** What {@link scanLocal} found. */
export interface LocalScan {
  tree: Map<string, SyncEntry>;
  skipped: SkippedPath[];
  /** Bytes read to hash changed files. */
  hashedBytes: number;
}

/** Walks `root` and describes every file and folder in it, hashing what changed. */
export async function scanLocal(root: string, options: LocalScanOptions): Promise<LocalScan> {
  const scan: LocalScan = { tree: new Map(), skipped: [], hashedBytes: 0 };
  const top = join(root); // Normalised once: below, paths are joined by hand (join() normalises).
  const pending = [""];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const item of Deno.readDirSync(dir === "" ? top : `${top}/${dir}`)) {
      const path = dir === "" ? item.name : `${dir}/${item.name}`;
      const refusal = refusedPath(path, item.name, dir === "");
      if (refusal !== undefined) {
        scan.skipped.push({ path, reason: refusal });
        continue;
      }
      if (options.ignore.ignores(path, item.isDirectory)) continue;
      if (!item.isFile && !item.isDirectory) {
        scan.skipped.push({ path, reason: item.isSymlink ? "a symbolic link" : "a special file" });
        continue;
      }
      // One synchronous call per entry: much cheaper than an async op for a stat.
      const info = Deno.lstatSync(`${top}/${path}`);
      const entry = localEntryOf(info);
      if (entry.kind === "directory") pending.push(path);
      else if (!takeRemembered(entry, options.base.get(path))) {
        await hashContent(root, path, entry, scan);
      }
      scan.tree.set(path, entry);
    }
  }
  return scan;
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

/** A local file or folder as sync describes it (the content hash is added separately). */
export function localEntryOf(info: Deno.FileInfo): SyncEntry {
  return {
    kind: info.isDirectory ? "directory" : "file",
    size: info.isDirectory ? 0 : info.size,
    // The runtime reports modification times to the millisecond.
    mtimeNs: BigInt(info.mtime?.getTime() ?? 0) * 1_000_000n,
    inode: info.ino ?? undefined,
  };
}

/** Takes the remembered hash if nothing about the file moved; false if it has to be read. */
function takeRemembered(entry: SyncEntry, base: BaseEntry | undefined): boolean {
  const unchanged = base?.kind === "file" && base.size === entry.size &&
    base.localMtimeNs === entry.mtimeNs && base.localInode === entry.inode;
  if (unchanged) entry.sha256 = base.sha256;
  return unchanged;
}

async function hashContent(root: string, path: string, entry: SyncEntry, scan: LocalScan) {
  using file = await Deno.open(join(root, path), { read: true });
  const hash = createHash("sha256");
  const read = await hashFileFromStart(file, hash);
  scan.hashedBytes += read;
  // The size seen by the hash is what sync will send: a file growing meanwhile is caught later.
  entry.size = read;
  entry.sha256 = hash.digest("hex");
}
