/**
 * `put -r` and `get -r`: whole directory trees, with relative paths, empty
 * folders, and the mtimes of files and folders (folders last, once nothing
 * more is written into them); `get -r` also keeps permission bits, as
 * `rsync -a` does, where the server sends them. Many files are in flight on
 * the one connection at once (a window bounded by their bytes, see
 * `transfer_window.ts`), so small files cost no round trip each. A file that fails is reported and the rest carry on. Without `force`
 * a file whose target exists is refused and left as it is, and folders that
 * were there before keep their times: a tree whose every file is refused
 * changes nothing.
 *
 * @module
 */

import { join, posix } from "node:path";
import type { ClientConnection } from "./connection.ts";
import { isTargetExists, LocalError, localError, RemoteError } from "./errors.ts";
import { STATUS } from "../protocol/status.ts";
import type { WireEntry } from "../protocol/messages.ts";
import { downloadFile, type TransferResult, uploadFile } from "./file_transfer.ts";
import type { Progress } from "./progress.ts";
import type { RateLimiter } from "../shared/rate_limiter.ts";
import { PERMISSION_BITS } from "./local_mode.ts";
import { runWindow, type WindowLimits } from "./transfer_window.ts";
import {
  type SkippedEntry,
  type TreeFile,
  type TreeListing,
  walkLocal,
  walkRemote,
} from "./tree_walk.ts";

export type { SkippedEntry } from "./tree_walk.ts";

/** Options of {@link uploadTree} and {@link downloadTree}. */
export interface TreeTransferOptions {
  force?: boolean;
  /** Paces all files together. */
  limiter?: RateLimiter;
  progress: Progress;
  /** Bounds of the files in flight at once; defaults in `transfer_window.ts`. */
  window?: WindowLimits;
  /** Cancels every file in flight, starts no more, and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@link downloadTree}. */
export interface TreeDownloadOptions extends TreeTransferOptions {
  /** The remote folder's entry, if the caller has stated it already: it is not stated again. */
  root?: WireEntry;
}

/** What a tree transfer did. */
export interface TreeResult {
  files: number;
  /** Folders this transfer created (those that were there already are neither counted nor touched). */
  directories: number;
  bytes: number;
  /** Files left alone because their target exists and `force` was not given (relative paths). */
  refused: string[];
  failures: { path: string; error: unknown }[];
  /** Entries that are neither files nor directories, not copied (nor followed, for links). */
  skipped: SkippedEntry[];
}

/** Copies the local directory `localDir` to `remoteDir` (created if missing). */
export async function uploadTree(
  connection: ClientConnection,
  localDir: string,
  remoteDir: string,
  options: TreeTransferOptions,
): Promise<TreeResult> {
  const tree = await walkLocal(localDir);
  const created = await makeRemoteDirectories(connection, remoteDir, tree.directories);
  const result = await transferFiles(
    tree,
    created,
    options,
    (file, progress) =>
      uploadFile(connection, join(localDir, file.path), posix.join(remoteDir, file.path), {
        force: options.force,
        progress,
        limiter: options.limiter,
        signal: options.signal,
      }),
  );
  if (connection.capabilities.includes("SetMtime")) {
    await setDirectoryMtimes(
      tree,
      timedFolders(tree, created, options),
      result,
      (dir, mtimeMs) => connection.setMtime(posix.join(remoteDir, dir), mtimeMs),
    );
  }
  return result;
}

/** Copies the remote directory `remoteDir` to `localDir` (created if missing). */
export async function downloadTree(
  connection: ClientConnection,
  remoteDir: string,
  localDir: string,
  options: TreeDownloadOptions,
): Promise<TreeResult> {
  const tree = await walkRemote(connection, remoteDir, options.root);
  const created = await makeDirectories(
    tree.directories,
    (dir, parents) => Promise.resolve(makeLocalDirectory(join(localDir, dir), parents)),
  );
  const result = await transferFiles(
    tree,
    created,
    options,
    (file, progress) =>
      downloadFile(connection, posix.join(remoteDir, file.path), join(localDir, file.path), {
        force: options.force,
        progress,
        limiter: options.limiter,
        signal: options.signal,
        mode: file.mode,
      }),
  );
  await setDirectoryMtimes(tree, timedFolders(tree, created, options), result, (dir, mtimeMs) => {
    const path = join(localDir, dir);
    const mode = tree.directoryModes.get(dir);
    try {
      if (mode !== undefined) Deno.chmodSync(path, mode & PERMISSION_BITS);
      Deno.utimeSync(path, new Date(), new Date(mtimeMs));
    } catch (error) {
      throw localError(error, path);
    }
    return Promise.resolve();
  });
  return result;
}

/**
 * Creates the tree's local folders, parents first, through `mkdir` (true:
 * made, false: it was there); the top one with its missing parents. Returns
 * the folders made, the only ones whose times the transfer then sets.
 */
async function makeDirectories(
  directories: string[],
  mkdir: (dir: string, parents: boolean) => Promise<boolean>,
): Promise<Set<string>> {
  const created = new Set<string>();
  for (const level of byDepth(directories)) {
    await Promise.all(level.map(async (dir) => {
      if (await mkdir(dir, dir === "")) created.add(dir);
    }));
  }
  return created;
}

/**
 * Creates the tree's folders on the server, all requests at once: the
 * server handles them in order, parents first, so none waits for another's
 * reply. The top one with its missing parents (a `Stat` before it says
 * whether it was there). Returns the folders made.
 */
async function makeRemoteDirectories(
  connection: ClientConnection,
  remoteDir: string,
  directories: string[],
): Promise<Set<string>> {
  const created = new Set<string>();
  const top = connection.stat(remoteDir).then(() => true, (error) => {
    if (error instanceof RemoteError && error.code === STATUS.NOT_FOUND) return false;
    throw error;
  });
  const madeTop = connection.mkdir(remoteDir, true);
  const below = directories.filter((dir) => dir !== "").map(async (dir) => {
    if (await makeRemoteDirectory(connection, posix.join(remoteDir, dir))) created.add(dir);
  });
  const [existed] = await Promise.all([top, madeTop, ...below]);
  if (!existed) created.add("");
  return created;
}

/** Makes one remote folder whose parent is there (or about to be); false if a folder is there. */
async function makeRemoteDirectory(connection: ClientConnection, path: string): Promise<boolean> {
  try {
    await connection.mkdir(path, false);
    return true;
  } catch (error) {
    const status = error instanceof RemoteError ? error.code : undefined;
    if (status === STATUS.EXISTS && (await connection.stat(path)).entry.kind === "directory") {
      return false;
    }
    throw error;
  }
}

/** Makes one local folder (with missing parents if `parents`); false if a folder is there. */
function makeLocalDirectory(path: string, parents: boolean): boolean {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw localError(error, path);
  }
  if (info?.isDirectory) return false;
  if (info) throw new LocalError(`${path}: exists and is not a directory`);
  try {
    Deno.mkdirSync(path, { recursive: parents });
  } catch (error) {
    throw localError(error, path);
  }
  return true;
}

/**
 * The folders whose times (and, downloading, modes) the transfer sets:
 * those it created, or with `force` (replacing what is there) every folder
 * of the tree; deepest first, so a parent made unsearchable comes last.
 */
function timedFolders(tree: TreeListing, created: Set<string>, options: TreeTransferOptions) {
  return tree.directories.filter((dir) => options.force || created.has(dir)).reverse();
}

/**
 * Gives each of `folders` its source's mtime, all at once
 * (setting a folder's time does not change its parent's), after the last
 * file: a file created in a folder would change the folder's time again.
 */
async function setDirectoryMtimes(
  tree: TreeListing,
  folders: string[],
  result: TreeResult,
  setMtime: (dir: string, mtimeMs: number) => Promise<void>,
): Promise<void> {
  await Promise.all(folders.map(async (dir) => {
    try {
      await setMtime(dir, tree.directoryMtimes.get(dir)!);
    } catch (error) {
      result.failures.push({ path: dir === "" ? "." : dir, error });
    }
  }));
}

async function transferFiles(
  tree: TreeListing,
  created: Set<string>,
  options: TreeTransferOptions,
  move: (file: TreeFile, progress: Progress) => Promise<TransferResult>,
): Promise<TreeResult> {
  const result: TreeResult = {
    files: 0,
    directories: created.size,
    bytes: 0,
    refused: [],
    failures: [],
    skipped: tree.skipped,
  };
  const overall = options.progress;
  overall.grow(tree.files.reduce((sum, file) => sum + file.size, 0), tree.files.length);
  // Totals are known up front, so files only report bytes and completion.
  const perFile: Progress = {
    grow() {},
    advance: (bytes) => overall.advance(bytes),
    fileDone: () => overall.fileDone(),
    stop() {},
  };
  await runWindow(tree.files, (file) => file.size, async (file) => {
    try {
      const moved = await move(file, perFile);
      result.files++;
      result.bytes += moved.bytes;
    } catch (error) {
      if (isTargetExists(error)) result.refused.push(file.path);
      else result.failures.push({ path: file.path, error });
    }
  }, options.window);
  result.refused.sort();
  // Once cancelled, each file left fails at once; none is a failure to list.
  options.signal?.throwIfAborted();
  return result;
}

/** Folders grouped by depth, shallowest first: each group can be created at once. */
function byDepth(directories: string[]): string[][] {
  const levels: string[][] = [];
  for (const dir of directories) {
    const depth = dir === "" ? 0 : dir.split("/").length;
    (levels[depth] ??= []).push(dir);
  }
  return levels.filter(Boolean);
}
