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
import { resolveVirtualPath } from "../storage/virtual_path.ts";
import type { IgnoreRules } from "./ignore_rules.ts";
import type { BaseEntry, SyncEntry, Tree } from "./sync_entry.ts";

/** Options of {@link scanLocal}. */
export interface LocalScanOptions {
  /** The remembered state: a file that matches it is not read again. */
  base: Tree<BaseEntry>;
  ignore: IgnoreRules;
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
  const pending = [""];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const item of Deno.readDirSync(join(root, dir))) {
      const path = dir === "" ? item.name : `${dir}/${item.name}`;
      const refusal = refusedPath(path);
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
      const info = Deno.lstatSync(join(root, path));
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

/** Why the server would refuse `path` (control characters, backslashes, length), if it would. */
function refusedPath(path: string): string | undefined {
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
