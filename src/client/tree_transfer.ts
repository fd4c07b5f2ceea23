/**
 * `put -r` and `get -r`: whole directory trees, with relative paths, empty
 * folders, and the mtimes of files and folders (folders last, once nothing
 * more is written into them); `get -r` also keeps permission bits, as
 * `rsync -a` does, where the server sends them. The tree is walked as it is
 * copied (`tree_walk.ts`): files start moving at once, and memory holds the
 * tree's folders but not its files, however many there are. Many files are
 * in flight on the one connection at once (a window bounded by their bytes,
 * see `transfer_window.ts`), so small files cost no round trip each. A file
 * that fails is reported and the rest carry on. Without `force`
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
import { WholeFileBatch } from "./whole_file_batch.ts";
import { WholeFileReads } from "./whole_file_reads.ts";
import {
  type SkippedEntry,
  type TreeFile,
  type TreeFolder,
  type TreeItem,
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
  const folders = new TreeFolders((dir) =>
    dir === ""
      ? makeRemoteTop(connection, remoteDir)
      : makeRemoteDirectory(connection, posix.join(remoteDir, dir))
  );
  // Small files go many to a request where the server takes them so (PROTOCOL.md §5.5.2).
  const batch = new WholeFileBatch(connection, {
    overwrite: options.force,
    signal: options.signal,
  });
  const result = await transferFiles(
    walkLocal(localDir),
    folders,
    options,
    (file, progress) => {
      const local = join(localDir, file.path);
      const remote = posix.join(remoteDir, file.path);
      const { limiter, signal } = options;
      if (WholeFileBatch.usable(connection, file.size, remote)) {
        return batch.upload(local, remote, { progress, limiter });
      }
      return uploadFile(connection, local, remote, {
        force: options.force,
        progress,
        limiter,
        signal,
      });
    },
  );
  if (connection.capabilities.includes("SetMtime")) {
    await setDirectoryMtimes(
      timedFolders(folders, options),
      result,
      (folder) => connection.setMtime(posix.join(remoteDir, folder.path), folder.mtimeMs),
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
  const folders = new TreeFolders((dir) => makeLocalDirectory(join(localDir, dir), dir === ""));
  // Small files come many to a request where the server sends them so (PROTOCOL.md §5.4.1).
  const reads = new WholeFileReads(connection, { force: options.force, signal: options.signal });
  const result = await transferFiles(
    walkRemote(connection, remoteDir, options.root),
    folders,
    options,
    (file, progress) => {
      const remote = posix.join(remoteDir, file.path);
      const local = join(localDir, file.path);
      const { limiter, signal, force } = options;
      if (WholeFileReads.usable(connection, file.size, remote)) {
        return reads.download(remote, file.size, local, { progress, limiter, mode: file.mode });
      }
      return downloadFile(connection, remote, local, {
        force,
        progress,
        limiter,
        signal,
        mode: file.mode,
      });
    },
  );
  await setDirectoryMtimes(timedFolders(folders, options), result, (folder) => {
    const path = join(localDir, folder.path);
    try {
      if (folder.mode !== undefined) Deno.chmodSync(path, folder.mode & PERMISSION_BITS);
      Deno.utimeSync(path, new Date(), new Date(folder.mtimeMs));
    } catch (error) {
      throw localError(error, path);
    }
    return Promise.resolve();
  });
  return result;
}

/**
 * The folders of a tree transfer, each made through `make` as the walk meets
 * it (true: made, false: a folder was there; the top one with its missing
 * parents). A remote folder is made without waiting for the reply: the
 * server handles requests in order, so a folder's request arrives after its
 * parent's and before its files'. The top folder failing fails the tree;
 * another's failure is one of the tree's failures.
 */
class TreeFolders {
  /** Every folder the walk met, in its order. */
  readonly walked: TreeFolder[] = [];
  /** The folders made (complete once {@link ended} has resolved). */
  readonly created = new Set<string>();
  readonly #make: (dir: string) => boolean | Promise<boolean>;
  readonly #pending = new Set<Promise<void>>();
  readonly #failures: TreeResult["failures"] = [];
  #topFailure: { error: unknown } | undefined;

  constructor(make: (dir: string) => boolean | Promise<boolean>) {
    this.#make = make;
  }

  /** Makes `folder` (or sends the request that does); a top folder that cannot be made throws at once. */
  add(folder: TreeFolder): void {
    this.walked.push(folder);
    const dir = folder.path;
    let made: boolean | Promise<boolean>;
    try {
      made = this.#make(dir);
    } catch (error) {
      this.#failed(dir, error);
      if (dir === "") throw error;
      return;
    }
    if (typeof made === "boolean") return void (made && this.created.add(dir));
    const tracked: Promise<void> = made.then(
      (created) => void (created && this.created.add(dir)),
      (error) => this.#failed(dir, error),
    ).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /**
   * Resolves once every folder is made or has failed, to those that failed;
   * rejects if the top one did.
   */
  async ended(): Promise<TreeResult["failures"]> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    if (this.#topFailure) throw this.#topFailure.error;
    return this.#failures;
  }

  #failed(dir: string, error: unknown): void {
    if (dir === "") this.#topFailure = { error };
    else this.#failures.push({ path: dir, error });
  }
}

/** Makes the remote top folder with its missing parents; false if it was there (a `Stat` sent with it says). */
async function makeRemoteTop(connection: ClientConnection, remoteDir: string): Promise<boolean> {
  const existed = connection.stat(remoteDir).then(() => true, (error) => {
    if (error instanceof RemoteError && error.code === STATUS.NOT_FOUND) return false;
    throw error;
  });
  const made = connection.mkdir(remoteDir, true);
  const [was] = await Promise.all([existed, made]);
  return !was;
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
function timedFolders(folders: TreeFolders, options: TreeTransferOptions): TreeFolder[] {
  return folders.walked.filter((folder) => options.force || folders.created.has(folder.path))
    .reverse();
}

/**
 * Gives each of `folders` its source's mtime, all at once
 * (setting a folder's time does not change its parent's), after the last
 * file: a file created in a folder would change the folder's time again.
 */
async function setDirectoryMtimes(
  folders: TreeFolder[],
  result: TreeResult,
  setMtime: (folder: TreeFolder) => Promise<void>,
): Promise<void> {
  await Promise.all(folders.map(async (folder) => {
    try {
      await setMtime(folder);
    } catch (error) {
      result.failures.push({ path: folder.path === "" ? "." : folder.path, error });
    }
  }));
}

/**
 * Moves the files of `walk` as they come, through the window; its folders
 * go to `folders` (which makes them) as the walk meets them, before their
 * files. The totals grow as the walk goes on.
 */
async function transferFiles(
  walk: AsyncIterable<TreeItem>,
  folders: TreeFolders,
  options: TreeTransferOptions,
  move: (file: TreeFile, progress: Progress) => Promise<TransferResult>,
): Promise<TreeResult> {
  const result: TreeResult = {
    files: 0,
    directories: 0,
    bytes: 0,
    refused: [],
    failures: [],
    skipped: [],
  };
  const overall = options.progress;
  // The walk tells the totals, so files only report bytes and completion.
  const perFile: Progress = {
    grow() {},
    advance: (bytes) => overall.advance(bytes),
    fileDone: () => overall.fileDone(),
    stop() {},
  };
  async function* files(): AsyncGenerator<TreeFile> {
    for await (const item of walk) {
      if (options.signal?.aborted) return; // Walk no further: every file left would fail at once.
      if (item.kind === "folder") folders.add(item.folder);
      else if (item.kind === "skipped") result.skipped.push(item.skipped);
      else if (item.kind === "unreadable") {
        result.failures.push({ path: item.path, error: item.error });
      } else {
        overall.grow(item.file.size, 1);
        yield item.file;
      }
    }
  }
  try {
    await runWindow(files(), (file) => file.size, async (file) => {
      try {
        const moved = await move(file, perFile);
        result.files++;
        result.bytes += moved.bytes;
      } catch (error) {
        if (isTargetExists(error)) result.refused.push(file.path);
        else result.failures.push({ path: file.path, error });
      }
    }, options.window);
    // Once cancelled, each file left fails at once; none is a failure to list.
    options.signal?.throwIfAborted();
    result.failures.push(...await folders.ended());
  } catch (error) {
    await folders.ended().catch(() => {}); // The walk's, the window's or the top folder's failure.
    throw error;
  }
  result.directories = folders.created.size;
  result.refused.sort();
  return result;
}
