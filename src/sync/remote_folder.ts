/**
 * A sync's sides over a logged-in connection: the remote folder through the
 * server's sync requests (ListTree, WriteIf, WriteFileIf, RemoveIf,
 * RenameIf), the local folder, and the copier that moves files between them
 * with the resumable, verified transfers `get` and `put` use. Every remote
 * change is conditional on what the sync saw there.
 *
 * @module
 */

import { dirname, posix, resolve } from "node:path";
import type { CommandContext } from "../client/command.ts";
import type { ClientConnection, RemoteExpectation } from "../client/connection.ts";
import { LocalError, RemoteError } from "../client/errors.ts";
import { downloadFile, readRemote, uploadFile } from "../client/file_transfer.ts";
import type { Progress } from "../client/progress.ts";
import { WholeFileBatch } from "../client/whole_file_batch.ts";
import { WholeFileReads } from "../client/whole_file_reads.ts";
import { STATUS } from "../protocol/status.ts";
import { concatBytes } from "../shared/concat_bytes.ts";
import { resolveVirtualPath } from "../storage/virtual_path.ts";
import { IGNORE_FILE, MAX_IGNORE_FILE_BYTES } from "./own_files.ts";
import { LocalSide } from "./local_side.ts";
import { localEntryOf, type SkippedPath } from "./local_scan.ts";
import { type RemoteFolder, type RemoteListing, type SyncSides, SyncStopped } from "./run_sync.ts";
import type { Copier, SideOperations } from "./sides.ts";
import type { SyncStateStore } from "./state_store.ts";
import type { SyncEntry } from "./sync_entry.ts";
import type { JournalChange, JournalPosition } from "../storage/journal.ts";

/** The requests a server must handle for sync. */
const SYNC_REQUESTS = ["ListTree", "WriteIf", "WriteFileIf", "RemoveIf", "RenameIf"];

/** Where the two folders are, resolved. */
export interface SyncFolders {
  /** The local folder as given (relative to where the client runs). */
  local: string;
  /** The remote folder as given (relative to the remote working directory). */
  remote: string;
}

/**
 * Resolves both folders, makes sure they exist (creating them on a first
 * sync, refusing when a folder that was synced before is gone: an unmounted
 * disk must not look like a deleted tree), and builds the sides.
 */
export async function openSyncSides(
  context: CommandContext,
  store: SyncStateStore,
  folders: SyncFolders,
  progress: Progress,
): Promise<SyncSides> {
  const connection = context.connection;
  const missing = SYNC_REQUESTS.filter((name) => !connection.capabilities.includes(name));
  if (missing.length > 0) {
    throw new LocalError(`the server does not support sync (it lacks ${missing.join(", ")})`);
  }
  const remoteRoot = resolveVirtualPath(context.cwd, folders.remote);
  const localRoot = await ensureLocalFolder(folders.local);
  const state = store.pair({
    server: connection.serverIdentity,
    user: context.user,
    remotePath: remoteRoot,
    localPath: localRoot,
  });
  const remembered = state.remembersAny();
  const kind = await localKind(localRoot);
  if (kind === "other") throw new LocalError(`${folders.local} is not a folder`);
  if (kind === "missing") {
    if (remembered) throw gone(`the local folder ${folders.local}`);
    await Deno.mkdir(localRoot, { recursive: true });
  }
  await ensureRemoteFolder(connection, remoteRoot, remembered);
  const local = new LocalSide(localRoot);
  return {
    localRoot,
    remoteRoot,
    local: localOperations(local),
    remote: new ServerFolder(connection, remoteRoot),
    copier: new TransferCopier(context, local, remoteRoot, progress),
    state,
  };
}

function gone(what: string): SyncStopped {
  return new SyncStopped(
    `${what} was synced before but is not there now (an unmounted disk?); nothing was changed. ` +
      "To sync it anyway, create the folder; the delete guard then stops the run unless --force",
  );
}

/** The absolute local path, through links (the folder a pair is remembered under). */
async function ensureLocalFolder(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return resolve(path);
  }
}

async function localKind(path: string): Promise<"folder" | "missing" | "other"> {
  try {
    return (await Deno.stat(path)).isDirectory ? "folder" : "other";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw error;
  }
}

async function ensureRemoteFolder(connection: ClientConnection, root: string, remembered: boolean) {
  try {
    const { entry } = await connection.stat(root);
    if (entry.kind !== "directory") throw new LocalError(`${root} on the server is not a folder`);
  } catch (error) {
    if (!(error instanceof RemoteError && error.code === STATUS.NOT_FOUND)) throw error;
    if (remembered) throw gone(`the folder ${root} on the server`);
    await connection.mkdir(root, true);
  }
}

/** What the server must still hold for a conditional request to go ahead. */
export function expectationOf(entry: SyncEntry | undefined): RemoteExpectation {
  if (entry === undefined) return { kind: "absent" };
  if (entry.kind === "directory") return { kind: "directory" };
  return { kind: "file", sha256: entry.sha256! };
}

function localOperations(local: LocalSide): SideOperations {
  return {
    async mkdir(path) {
      await local.mkdir(path);
      return localEntryOf(await Deno.lstat(local.resolve(path)));
    },
    delete: (path, expected) => local.delete(path, expected),
    async rename(from, to, expected) {
      await local.rename(from, to, expected);
      return { ...localEntryOf(await Deno.lstat(local.resolve(to))), sha256: expected.sha256 };
    },
  };
}

/** The synced folder on the server. */
class ServerFolder implements RemoteFolder {
  readonly #connection: ClientConnection;
  readonly #root: string;

  constructor(connection: ClientConnection, root: string) {
    this.#connection = connection;
    this.#root = root;
  }

  #path(path: string): string {
    return posix.join(this.#root, path);
  }

  async listTree(): Promise<RemoteListing> {
    const listing = await this.#connection.listTree(this.#root);
    const tree = new Map<string, SyncEntry>();
    const skipped: SkippedPath[] = [];
    for (const entry of listing.entries) {
      if (entry.kind === "file" || entry.kind === "directory") {
        tree.set(entry.path, {
          kind: entry.kind,
          size: entry.size,
          mtimeNs: BigInt(entry.mtimeMs) * 1_000_000n,
          sha256: entry.sha256,
        });
      } else {
        const reason = entry.kind === "symlink"
          ? "a symbolic link on the server"
          : "a special file";
        skipped.push({ path: entry.path, reason });
      }
    }
    const position = { journalId: listing.journalId, sequence: listing.sequence };
    return { tree, skipped, position };
  }

  async changesSince(
    cursor: JournalPosition,
  ): Promise<{ changes: JournalChange[]; position: JournalPosition } | "expired"> {
    const changes: JournalChange[] = [];
    let sequence = cursor.sequence;
    try {
      for (;;) {
        const page = await this.#connection.changes(this.#root, { ...cursor, sequence });
        changes.push(...page.changes);
        sequence = page.sequence;
        if (!page.more) break;
      }
    } catch (error) {
      if (error instanceof RemoteError && error.code === STATUS.CURSOR_EXPIRED) return "expired";
      throw error;
    }
    return { changes, position: { journalId: cursor.journalId, sequence } };
  }

  async readIgnoreFile(): Promise<Uint8Array | undefined> {
    const chunks: Uint8Array[] = [];
    try {
      // One byte more than allowed, so that a file too large is noticed, not cut.
      await readRemote(
        this.#connection,
        this.#path(IGNORE_FILE),
        MAX_IGNORE_FILE_BYTES + 1,
        (bytes) => {
          chunks.push(bytes.slice());
          return Promise.resolve();
        },
      );
    } catch (error) {
      if (error instanceof RemoteError && error.code === STATUS.NOT_FOUND) return undefined;
      throw error;
    }
    return concatBytes(...chunks);
  }

  async mkdir(path: string): Promise<SyncEntry> {
    await this.#connection.mkdir(this.#path(path), true);
    return { kind: "directory", size: 0, mtimeNs: 0n };
  }

  async delete(path: string, expected: SyncEntry): Promise<void> {
    await this.#connection.removeIf(this.#path(path), expectationOf(expected));
  }

  async rename(from: string, to: string, expected: SyncEntry): Promise<SyncEntry> {
    const parent = posix.dirname(this.#path(to));
    if (parent !== this.#root) await this.#connection.mkdir(parent, true);
    await this.#connection.renameIf(this.#path(from), this.#path(to), expectationOf(expected));
    return expected;
  }
}

/**
 * Moves files with the transfers `put` and `get` use, each conditional on
 * the target; small pushes go many to a request (`WriteFilesIf`) and small
 * pulls too (`ReadFiles`) where the server takes them.
 */
class TransferCopier implements Copier {
  readonly #context: CommandContext;
  readonly #local: LocalSide;
  readonly #root: string;
  readonly #progress: Progress;
  readonly #pushes: WholeFileBatch;
  readonly #pulls: WholeFileReads;
  /** The local folder the last pull went to (made then if it was missing). */
  #lastFolder = "";

  constructor(context: CommandContext, local: LocalSide, root: string, progress: Progress) {
    this.#context = context;
    this.#local = local;
    this.#root = root;
    this.#progress = progress;
    this.#pushes = new WholeFileBatch(context.connection, {
      conditional: true,
      signal: context.signal,
    });
    this.#pulls = new WholeFileReads(context.connection, { signal: context.signal });
  }

  async push(path: string, source: SyncEntry, expected?: SyncEntry): Promise<SyncEntry> {
    // The plan creates folders before the files that go in them: no round trip per file here.
    const target = posix.join(this.#root, path);
    const localPath = this.#local.resolve(path);
    const condition = expectationOf(expected);
    const options = { progress: this.#progress, limiter: this.#context.limiter };
    if (WholeFileBatch.usable(this.#context.connection, source.size, target, true)) {
      await this.#pushes.upload(localPath, target, options, condition);
    } else {
      await uploadFile(this.#context.connection, localPath, target, {
        ...options,
        expected: condition,
        signal: this.#context.signal,
      });
    }
    // The server keeps the mtime to the millisecond, as the scan reads it.
    return { kind: "file", size: source.size, sha256: source.sha256, mtimeNs: source.mtimeNs };
  }

  async pull(path: string, source: SyncEntry, expected?: SyncEntry): Promise<SyncEntry> {
    const target = this.#local.resolve(path);
    const remotePath = posix.join(this.#root, path);
    const folder = dirname(target);
    if (folder !== this.#lastFolder) {
      // The plan makes new folders first: this is for one gone meanwhile, once per folder in a row.
      Deno.mkdirSync(folder, { recursive: true });
      this.#lastFolder = folder;
    }
    const options = {
      force: expected !== undefined,
      beforeReplace: () => this.#local.checkNow(path, expected),
      progress: this.#progress,
      limiter: this.#context.limiter,
    };
    if (WholeFileReads.usable(this.#context.connection, source.size, remotePath)) {
      // A new file takes its name only if nothing is there by then, in one step.
      const noClobber = expected === undefined;
      await this.#pulls.download(remotePath, source.size, target, { ...options, noClobber });
    } else {
      await downloadFile(this.#context.connection, remotePath, target, {
        ...options,
        signal: this.#context.signal,
      });
    }
    return { ...localEntryOf(Deno.lstatSync(target)), sha256: source.sha256 };
  }
}
