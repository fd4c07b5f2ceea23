/**
 * {@link Storage} on the local filesystem: one folder per user, with the
 * server's own files (partial uploads) in its reserved `.dfos` folder.
 *
 * Every operation first *locates* its path through {@link RootConfinement}:
 * walked name by name from the user's root with each folder held open, so it
 * cannot lead outside the root or into `.dfos`, even while someone swaps
 * folders for symlinks. The operation then acts on the last name through its
 * open parent. Symlinks that stay inside are followed, the last one too for
 * stat, list, read and setMtime; remove, rename and uploads act on the last
 * name itself (a link is removed, renamed or replaced, never its target), but
 * are refused too when that link leads outside.
 *
 * Metadata calls are synchronous: on a local filesystem they take
 * microseconds, several times less than a round trip through Deno's thread
 * pool, and a small file costs a handful of them. Calls that can take long
 * (reading and writing data, fsync, directory listings, recursive removal)
 * stay asynchronous.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { STATUS } from "../protocol/status.ts";
import { notFound, TreeChanged } from "./confinement_errors.ts";
import { assertDescriptorPathsWork, closeFd, descriptorPath } from "./descriptor_paths.ts";
import { toStorageError } from "./fs_errors.ts";
import { discardPartials, listPartials, sweepPartials } from "./local_partials.ts";
import type { Journal } from "./journal.ts";
import { openLocalJournal } from "./local_journal.ts";
import { LocalReadHandle } from "./local_read_handle.ts";
import { LocalUpload, partialFileName } from "./local_upload.ts";
import { createPrivateFile, removeQuietly, writeAndClose } from "./private_files.ts";
import {
  canonicalOf,
  requireRegularFile,
  toEntryInfo,
  validateUploadOptions,
} from "./local_entries.ts";
import { LocalPartialFiles } from "./local_partial_files.ts";
import { LocalPlacement } from "./local_placement.ts";
import { RetiredFiles, sweepRetired } from "./retired_files.ts";
import { type Located, RootConfinement } from "./root_confinement.ts";
import {
  type CanonicalOptions,
  type DiscardResult,
  type EntryInfo,
  type LocatedEntry,
  type PartialListing,
  type PartialListOptions,
  type PartialSelection,
  type PlacedFile,
  type ReadHandle,
  type Storage,
  type StorageBatch,
  StorageError,
  type Upload,
  type UploadOptions,
  type WalkedEntry,
  type WholeFileOptions,
} from "./storage.ts";
import { treeUsage } from "./tree_usage.ts";
import { walkPinned } from "./local_walk.ts";
import { WalkScope } from "./walk_scope.ts";
import { RESERVED_NAME, resolveVirtualPath, virtualBaseName } from "./virtual_path.ts";

/** Entries of a folder listed between two turns of the event loop. */
const LIST_BATCH = 2048;

/** Options of {@link LocalStorage.open}. */
export interface LocalStorageOptions {
  /** Flush an upload's data to disk before renaming it into place. Default true. */
  fsync?: boolean;
}

/**
 * One user's files in a folder of the local filesystem.
 *
 * @example
 * ```ts
 * const storage = await LocalStorage.open("server_storage/alice");
 * const entries = await storage.list("/");
 * ```
 */
export class LocalStorage implements Storage {
  readonly #confinement: RootConfinement;
  readonly #placement: LocalPlacement;
  readonly #partials: LocalPartialFiles;
  readonly #retired: RetiredFiles;
  readonly #fsync: boolean;

  private constructor(confinement: RootConfinement, fsync: boolean) {
    this.#confinement = confinement;
    this.#retired = new RetiredFiles(confinement);
    this.#placement = new LocalPlacement(confinement, this.#retired);
    this.#partials = new LocalPartialFiles(confinement);
    this.#fsync = fsync;
  }

  /** Opens the user's root folder `rootDir`, creating it (mode 0o700) if missing. */
  static async open(rootDir: string, options: LocalStorageOptions = {}): Promise<LocalStorage> {
    await Deno.mkdir(rootDir, { recursive: true, mode: 0o700 });
    assertDescriptorPathsWork();
    const confinement = RootConfinement.open(await Deno.realPath(rootDir));
    return new LocalStorage(confinement, options.fsync ?? true);
  }

  /** Describes a file or directory, following symlinks that stay inside the root. */
  stat(path: string): Promise<EntryInfo> {
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#confinement.locate(virtual, { followLast: true });
        if (located.info === null) throw notFound(virtual);
        return toEntryInfo(virtualBaseName(virtual), located.info);
      })
    );
  }

  /** Describes the last name itself: a symlink as a link, wherever it leads. */
  lstat(path: string): Promise<EntryInfo> {
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#confinement.locate(virtual);
        if (located.info === null) throw notFound(virtual);
        return toEntryInfo(virtualBaseName(virtual), located.info);
      })
    );
  }

  /** The path as its folders really are: links on the way (and last, with `followLast`) resolved. */
  canonicalPath(path: string, options: CanonicalOptions = {}): Promise<string> {
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#confinement.locate(virtual, { followLast: options.followLast });
        return canonicalOf(located);
      })
    );
  }

  /** The canonical path and the entry at its last name, walked once (with the request's scope). */
  locateEntry(path: string, options: { batch?: StorageBatch } = {}): Promise<LocatedEntry> {
    const scope = options.batch instanceof WalkScope ? options.batch : undefined;
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#confinement.locate(virtual, { scope });
        const { info } = located;
        const entry = info === null ? null : toEntryInfo(virtualBaseName(virtual), info);
        return { path: canonicalOf(located), entry };
      })
    );
  }

  /** Entries of a directory, sorted by name; symlinks as links; `.dfos` is hidden at the root. */
  async list(path: string): Promise<EntryInfo[]> {
    const virtual = resolveVirtualPath("/", path);
    using folder = this.#confinement.retrying(virtual, () => {
      using located = this.#confinement.locate(virtual, { followLast: true });
      return this.#confinement.enterFolder(located);
    });
    const atRoot = this.#confinement.isRoot(folder);
    const entries: EntryInfo[] = [];
    try {
      // Read at once (the asynchronous listing costs an operation per entry, a third of a
      // comparison's time), letting others run between batches of a big folder's entries.
      let count = 0;
      for (const entry of Deno.readDirSync(folder.path)) {
        if (++count % LIST_BATCH === 0) await new Promise((resolve) => setTimeout(resolve, 0));
        if (atRoot && entry.name === RESERVED_NAME) continue;
        const info = folder.lstat(entry.name);
        if (info !== null) entries.push(toEntryInfo(entry.name, info));
      }
    } catch (error) {
      throw toStorageError(error, virtual);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every entry under `folder`, descending through the folders it holds open (local_walk.ts). */
  async *walk(folder: string): AsyncGenerator<WalkedEntry> {
    const virtual = resolveVirtualPath("/", folder);
    using top = this.#confinement.retrying(virtual, () => {
      using located = this.#confinement.locate(virtual, { followLast: true });
      return this.#confinement.enterFolder(located);
    });
    yield* walkPinned(top, virtual, {
      entryOf: toEntryInfo,
      isRoot: (dir) => this.#confinement.isRoot(dir),
      reserved: RESERVED_NAME,
    });
  }

  /** Creates a directory; with `parents`, also missing parents, and an existing one is fine. */
  mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    const parents = options.parents ?? false;
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#confinement.locate(virtual, { createParents: parents });
        if (located.info === null) return makeFolder(located, parents);
        const kind = this.#placement.kindBehind(virtual, located.info);
        if (parents && (located.name === "" || kind === "directory")) return;
        throw new StorageError(STATUS.EXISTS, `${virtual}: already exists`);
      })
    );
  }

  /** Removes an empty directory (not a symlink to one). */
  rmdir(path: string): Promise<void> {
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#locateRemovable(virtual);
        if (!this.#existing(located).isDirectory) {
          throw new StorageError(STATUS.NOT_A_DIRECTORY, `${virtual}: not a directory`);
        }
        Deno.removeSync(located.path);
        this.#confinement.namesChanged();
      })
    );
  }

  /** Removes a file or symlink, or with `recursive` a whole directory (not following symlinks). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const virtual = resolveVirtualPath("/", path);
    const recursive = options.recursive ?? false;
    using located = this.#confinement.retrying(virtual, () => {
      const located = this.#locateRemovable(virtual);
      try {
        if (this.#existing(located).isDirectory && !recursive) {
          throw new StorageError(
            STATUS.IS_A_DIRECTORY,
            `${virtual}: is a directory; remove it recursively or with rmdir`,
          );
        }
        return located;
      } catch (error) {
        located[Symbol.dispose]();
        throw error;
      }
    });
    // Counted before (a walk while it runs must be made again) and after (one made meanwhile too).
    this.#confinement.namesChanged();
    try {
      // Freed later (retired_files.ts); a folder that cannot be moved aside is removed in place,
      // by Rust's remove_dir_all, which never follows a symlink and works by descriptor below the top.
      if (!this.#retired.removeLater(located, recursive)) {
        await Deno.remove(located.path, { recursive });
      }
    } catch (error) {
      throw toStorageError(error, virtual);
    } finally {
      this.#confinement.namesChanged();
    }
  }

  /** Sets the modification time of a file or directory, through an open descriptor. */
  setMtime(path: string, mtimeMs: number): Promise<void> {
    return settle(() =>
      this.#run(path, (virtual) => {
        validateUploadOptions(virtual, { size: 0, mtimeMs });
        using located = this.#confinement.locate(virtual, { followLast: true });
        const times = [new Date(), new Date(mtimeMs)] as const;
        if (located.info?.isFile) {
          const { fd } = this.#confinement.openFile(located);
          try {
            return Deno.utimeSync(descriptorPath(fd), ...times);
          } finally {
            closeFd(fd);
          }
        }
        if (located.info !== null && !located.info.isDirectory) {
          throw new StorageError(
            STATUS.PERMISSION_DENIED,
            `${virtual}: not a regular file or directory`,
          );
        }
        using folder = this.#confinement.enterFolder(located);
        Deno.utimeSync(folder.path, ...times);
      })
    );
  }

  /** Moves `from` to `to`; EXISTS if `to` exists unless `overwrite`. */
  rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    return settle(() => this.#renameNow(from, to, options.overwrite ?? false));
  }

  #renameNow(from: string, to: string, overwrite: boolean): void {
    const sourcePath = resolveVirtualPath("/", from);
    const destinationPath = resolveVirtualPath("/", to);
    this.#confinement.retrying(destinationPath, () => {
      using source = this.#locateRemovable(sourcePath);
      this.#existing(source);
      if (destinationPath.startsWith(sourcePath + "/")) {
        throw new StorageError(
          STATUS.BAD_REQUEST,
          `${sourcePath}: cannot be moved into itself (${destinationPath})`,
        );
      }
      if (sourcePath === destinationPath) return;
      using destination = this.#locateRemovable(destinationPath);
      if (destination.info !== null) {
        this.#placement.kindBehind(destinationPath, destination.info);
        if (!overwrite) throw new StorageError(STATUS.EXISTS, `${destinationPath}: already exists`);
      }
      this.#placement.move(source.path, destination);
      this.#confinement.namesChanged();
    });
  }

  /** Opens a regular file for reading at any position. */
  openRead(path: string, options: { batch?: StorageBatch } = {}): Promise<ReadHandle> {
    const scope = options.batch instanceof WalkScope ? options.batch : undefined;
    return settle(() =>
      this.#run(path, (virtual) => {
        using located = this.#confinement.locate(virtual, { followLast: true, scope });
        requireRegularFile(virtual, located.info);
        const { fd, info } = this.#confinement.openFile(located);
        return new LocalReadHandle(fd, virtual, info);
      })
    );
  }

  /**
   * Writes a small file whole: verifies its SHA-256, writes it to a fresh
   * file under `.dfos/partial` (synced), then puts it under its name in one
   * step. Without `overwrite` that step is a hard link, which fails if the
   * name exists, so no check-then-act race; with it, a rename. A failure
   * leaves nothing behind; there is nothing to resume.
   */
  async writeFile(
    path: string,
    content: Uint8Array,
    options: WholeFileOptions,
  ): Promise<EntryInfo> {
    const virtual = resolveVirtualPath("/", path);
    if (virtual === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    validateUploadOptions(virtual, { size: content.length, mtimeMs: options.mtimeMs });
    if (createHash("sha256").update(content).digest("hex") !== options.sha256Hex.toLowerCase()) {
      throw new StorageError(
        STATUS.CHECKSUM_MISMATCH,
        `${virtual}: the bytes received do not match the announced SHA-256`,
      );
    }
    const overwrite = options.overwrite ?? false;
    // The target is walked before any write (a refusal writes nothing, not even in `.dfos`) and
    // held; behind a guard, which may wait while others change the tree, it is walked again.
    // Behind the guard the early walk is made again only if a name changed meanwhile.
    const generation = this.#confinement.generation;
    const guarded = options.guard !== undefined;
    const scope = options.batch instanceof WalkScope ? options.batch : undefined;
    using early = this.#placement.locateTarget(virtual, overwrite, "link", scope);
    using partials = this.#confinement.retrying(
      virtual,
      () => scope?.privateFolder(() => this.#partials.open()) ?? this.#partials.open(),
    );
    const temporary = this.#confinement.retrying(virtual, () => createPrivateFile(partials));
    const from = partials.entry(temporary.name);
    try {
      const written = await writeAndClose(temporary.fd, content, options.mtimeMs, this.#fsync);
      const place = () =>
        settle((): PlacedFile => {
          const stale = guarded && this.#confinement.generation !== generation;
          using walked = stale ? this.#placement.locateTarget(virtual, overwrite, "link") : null;
          const target = walked ?? early;
          this.#placement.put(from, target, overwrite);
          return {
            path: canonicalOf(target),
            entry: toEntryInfo(virtualBaseName(virtual), written),
          };
        });
      return (await (options.guard ?? ((place) => place()))(place)).entry;
    } catch (error) {
      removeQuietly(from);
      throw toStorageError(error, virtual);
    }
  }

  /** Folders walked once for all the files of a request (walk_scope.ts). */
  batch(): StorageBatch {
    return new WalkScope();
  }

  /** Starts (or resumes) an upload into a partial file under `.dfos/partial`. */
  async beginUpload(path: string, options: UploadOptions): Promise<Upload> {
    const virtual = resolveVirtualPath("/", path);
    validateUploadOptions(virtual, options);
    const overwrite = options.overwrite ?? false;
    this.#placement.locateTarget(virtual, overwrite)[Symbol.dispose]();
    const partialName = partialFileName(virtual, options.size, options.mtimeMs);
    return await LocalUpload.open({
      virtualPath: virtual,
      partialKey: this.#partials.key(partialName),
      size: options.size,
      mtimeMs: options.mtimeMs,
      resume: options.resume ?? true,
      fsync: this.#fsync,
      openPartial: () => this.#partials.openPartial(virtual, partialName),
      removePartial: () => this.#partials.removeFile(virtual, partialName),
      writeRecord: () =>
        this.#partials.writeRecord(virtual, partialName, {
          path: virtual,
          size: options.size,
          mtimeMs: options.mtimeMs,
        }),
      removeRecord: (onlyIfOrphan) =>
        this.#partials.removeRecord(virtual, partialName, onlyIfOrphan),
      placePartial: () => this.#placement.placePartial(virtual, partialName, overwrite),
    });
  }

  /**
   * Deletes partial uploads last written more than `maxAgeMs` ago (see
   * local_partials.ts), and the garbage of replaced files (retired_files.ts).
   */
  async cleanupPartials(maxAgeMs: number): Promise<number> {
    await sweepRetired(this.#confinement).catch(() => 0); // Garbage: the next sweep tries again.
    return await this.#partials.withFolder(false, (partials) => sweepPartials(partials, maxAgeMs));
  }

  /** Removes the old versions of the files replaced so far (retired_files.ts). */
  tidy(): Promise<void> {
    return this.#retired.tidy();
  }

  /** The user's partial uploads, newest first (see local_partials.ts). */
  async listPartials(options?: PartialListOptions): Promise<PartialListing> {
    return await this.#partials.withFolder(false, (partials) => listPartials(partials, options));
  }

  /** Removes partial uploads with their records (see local_partials.ts). */
  async discardPartials(selection: PartialSelection): Promise<DiscardResult> {
    return await this.#partials.withFolder(
      false,
      (partials) => discardPartials(partials, selection),
    );
  }

  /** Sum of the sizes of all files under the root, `.dfos` included; symlinks are not followed. */
  usage(): Promise<number> {
    return treeUsage(this.#confinement);
  }

  /** The journal in `.dfos/journal.db`, opened through the pinned folder (see local_journal.ts). */
  openJournal(): Promise<Journal> {
    return settle(() => {
      const folder = this.#confinement.retrying(
        `/${RESERVED_NAME}`,
        () => this.#confinement.privateFolder(true, []),
      );
      if (folder === null) throw new TreeChanged();
      return openLocalJournal(folder);
    });
  }

  /** Resolves `path`, then runs `work` on the virtual path, again if the tree changed under it. */
  #run<T>(path: string, work: (virtual: string) => T): T {
    const virtual = resolveVirtualPath("/", path);
    return this.#confinement.retrying(virtual, () => work(virtual));
  }

  /** Locates `virtual` for acting on its last name; refuses the root (remove, rmdir, rename). */
  #locateRemovable(virtual: string): Located {
    if (virtual === "/") {
      throw new StorageError(
        STATUS.PERMISSION_DENIED,
        "/: the root of your storage cannot be removed or moved",
      );
    }
    return this.#confinement.locate(virtual);
  }

  /** What `located` names; NOT_FOUND if nothing, and a symlink only if it stays inside. */
  #existing(located: Located): Deno.FileInfo {
    if (located.info === null) throw notFound(located.virtual);
    this.#placement.kindBehind(located.virtual, located.info);
    return located.info;
  }
}

/** Runs synchronous work behind an asynchronous interface: its result or its exception as a promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Makes the folder `located` names; with `parents`, one that appeared meanwhile is fine. */
function makeFolder(located: Located, parents: boolean): void {
  try {
    Deno.mkdirSync(located.path, { mode: 0o700 });
  } catch (error) {
    const made = error instanceof Deno.errors.AlreadyExists && parents &&
      located.parent.lstat(located.name)?.isDirectory === true;
    if (!made) throw error;
  }
}
