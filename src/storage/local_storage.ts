/**
 * {@link Storage} on the local filesystem: one folder per user, with the
 * server's own files (partial uploads) in its reserved `.dfos` folder.
 *
 * Every operation first *confines* its path: the longest existing prefix is
 * resolved with `realpath` and must stay inside the user's root, so a
 * symlink planted inside the root cannot reach outside it. Symlinks that
 * stay inside are followed. The check and the operation are separate system
 * calls, so the root must not be writable by anyone racing the server.
 *
 * Metadata calls (stat, realpath, open, rename) are synchronous: on a local
 * filesystem they take microseconds, several times less than a round trip
 * through Deno's thread pool, and a small file costs a handful of them.
 * Calls that can take long (reading and writing data, fsync, directory
 * listings, recursive removal) stay asynchronous.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { STATUS } from "../protocol/status.ts";
import { isNotFound, toStorageError } from "./fs_errors.ts";
import { discardPartials, listPartials, sweepPartials } from "./local_partials.ts";
import { LocalReadHandle } from "./local_read_handle.ts";
import { LocalUpload, partialFileName } from "./local_upload.ts";
import { realPathIfPresent, RootConfinement } from "./root_confinement.ts";
import {
  type DiscardResult,
  type EntryInfo,
  type EntryKind,
  type PartialListing,
  type PartialListOptions,
  type PartialSelection,
  type ReadHandle,
  type Storage,
  StorageError,
  type Upload,
  type UploadOptions,
  type WholeFileOptions,
} from "./storage.ts";
import {
  RESERVED_NAME,
  resolveVirtualPath,
  virtualBaseName,
  virtualParent,
} from "./virtual_path.ts";

/** Options of {@link LocalStorage.open}. */
export interface LocalStorageOptions {
  /** Flush an upload's data to disk before renaming it into place. Default true. */
  fsync?: boolean;
}

/** A path as the client named it and where it lives on disk. */
interface Location {
  virtual: string;
  real: string;
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
  readonly #root: string;
  readonly #confinement: RootConfinement;
  readonly #fsync: boolean;

  private constructor(realRoot: string, fsync: boolean) {
    this.#root = realRoot;
    this.#confinement = new RootConfinement(realRoot);
    this.#fsync = fsync;
  }

  /** Opens the user's root folder `rootDir`, creating it (mode 0o700) if missing. */
  static async open(rootDir: string, options: LocalStorageOptions = {}): Promise<LocalStorage> {
    await Deno.mkdir(rootDir, { recursive: true, mode: 0o700 });
    return new LocalStorage(await Deno.realPath(rootDir), options.fsync ?? true);
  }

  /** Describes a file or directory, following symlinks that stay inside the root. */
  stat(path: string): Promise<EntryInfo> {
    return settle(() => {
      const target = this.#locate(path);
      return toEntryInfo(virtualBaseName(target.virtual), fsCall(Deno.statSync, target));
    });
  }

  /** Entries of a directory, sorted by name; `.dfos` is hidden at the root. */
  async list(path: string): Promise<EntryInfo[]> {
    const directory = this.#locate(path);
    if (!fsCall(Deno.statSync, directory).isDirectory) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${directory.virtual}: not a directory`);
    }
    const entries: EntryInfo[] = [];
    try {
      for await (const entry of Deno.readDir(directory.real)) {
        if (directory.virtual === "/" && entry.name === RESERVED_NAME) continue;
        const info = this.#listedEntry(join(directory.real, entry.name), entry);
        if (info) entries.push(info);
      }
    } catch (error) {
      throw toStorageError(error, directory.virtual);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Creates a directory; with `parents`, also missing parents, and an existing one is fine. */
  mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    return settle(() => {
      const target = this.#locate(path);
      const parents = options.parents ?? false;
      if (target.virtual === "/") {
        if (parents) return;
        throw new StorageError(STATUS.EXISTS, "/: already exists");
      }
      fsCall((real) => Deno.mkdirSync(real, { recursive: parents, mode: 0o700 }), target);
    });
  }

  /** Removes an empty directory (not a symlink to one). */
  rmdir(path: string): Promise<void> {
    return settle(() => {
      const target = this.#locateRemovable(path);
      if (!fsCall(Deno.lstatSync, target).isDirectory) {
        throw new StorageError(STATUS.NOT_A_DIRECTORY, `${target.virtual}: not a directory`);
      }
      fsCall(Deno.removeSync, target);
    });
  }

  /** Removes a file or symlink, or with `recursive` a whole directory (not following symlinks). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const target = this.#locateRemovable(path);
    const recursive = options.recursive ?? false;
    if (fsCall(Deno.lstatSync, target).isDirectory && !recursive) {
      throw new StorageError(
        STATUS.IS_A_DIRECTORY,
        `${target.virtual}: is a directory; remove it recursively or with rmdir`,
      );
    }
    try {
      await Deno.remove(target.real, { recursive });
    } catch (error) {
      throw toStorageError(error, target.virtual);
    }
  }

  /** Sets the modification time of a file or directory, following links that stay inside. */
  setMtime(path: string, mtimeMs: number): Promise<void> {
    return settle(() => {
      const target = this.#locate(path);
      validateUploadOptions(target.virtual, { size: 0, mtimeMs });
      fsCall((real) => Deno.utimeSync(real, new Date(), new Date(mtimeMs)), target);
    });
  }

  /** Moves `from` to `to`; EXISTS if `to` exists unless `overwrite`. */
  rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    return settle(() => this.#renameNow(from, to, options.overwrite ?? false));
  }

  #renameNow(from: string, to: string, overwrite: boolean): void {
    const source = this.#locateRemovable(from);
    const destination = this.#locateRemovable(to);
    fsCall(Deno.lstatSync, source);
    if (destination.virtual.startsWith(source.virtual + "/")) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${source.virtual}: cannot be moved into itself (${destination.virtual})`,
      );
    }
    if (source.virtual === destination.virtual) return;
    this.#requireParentDirectory(destination);
    if (!overwrite && this.#kindIfExists(destination) !== null) {
      throw new StorageError(STATUS.EXISTS, `${destination.virtual}: already exists`);
    }
    try {
      Deno.renameSync(source.real, destination.real);
    } catch (error) {
      throw toStorageError(error, destination.virtual);
    }
  }

  /** Opens a regular file for reading at any position. */
  openRead(path: string): Promise<ReadHandle> {
    return settle(() => {
      const target = this.#locate(path);
      // Checked before opening: opening a FIFO for reading would block.
      requireRegularFile(target, fsCall(Deno.statSync, target));
      const file = fsCall((real) => Deno.openSync(real, { read: true }), target);
      try {
        const info = file.statSync();
        requireRegularFile(target, info);
        return new LocalReadHandle(file, target.virtual, info);
      } catch (error) {
        file.close();
        throw toStorageError(error, target.virtual);
      }
    });
  }

  /**
   * Writes a small file whole: verifies its SHA-256, writes it to a fresh
   * file under `.dfos/partial` (synced), then puts it under its name in one
   * step. Without `overwrite` that step is a hard link, which fails if the
   * name exists, so no check-then-act race; with it, a rename. A failure
   * leaves nothing behind; there is nothing to resume.
   */
  async writeFile(path: string, content: Uint8Array, options: WholeFileOptions): Promise<void> {
    const virtual = resolveVirtualPath("/", path);
    if (virtual === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    const target = { virtual, real: this.#root + virtual };
    // The name itself is judged when the file is put in place; its folder must be inside.
    this.#confinement.confine(dirname(target.real), virtualParent(virtual));
    validateUploadOptions(virtual, { size: content.length, mtimeMs: options.mtimeMs });
    if (createHash("sha256").update(content).digest("hex") !== options.sha256Hex.toLowerCase()) {
      throw new StorageError(
        STATUS.CHECKSUM_MISMATCH,
        `${virtual}: the bytes received do not match the announced SHA-256`,
      );
    }
    const temporary = join(this.#ensurePartialDirectory(), `whole-${crypto.randomUUID()}`);
    try {
      await writeNewFile(temporary, content, options.mtimeMs, this.#fsync);
      this.#putInPlace(temporary, target, options.overwrite ?? false);
    } catch (error) {
      removeQuietly(temporary);
      throw this.#explainPlacement(error, target);
    }
  }

  /** Moves the finished file `temporary` to `target`: a rename, or a no-clobber link. */
  #putInPlace(temporary: string, target: Location, overwrite: boolean): void {
    if (overwrite) {
      this.#checkUploadTarget(this.#locate(target.virtual), true);
      return Deno.renameSync(temporary, target.real);
    }
    try {
      Deno.linkSync(temporary, target.real);
    } catch (error) {
      if (!linkUnsupported(error)) throw error;
      // A filesystem without hard links: check, then rename, with no await in between.
      if (this.#kindIfExists(target) !== null) throw new Deno.errors.AlreadyExists();
      return Deno.renameSync(temporary, target.real);
    }
    Deno.removeSync(temporary);
  }

  /**
   * Names a failed no-clobber link as {@link #checkUploadTarget} would: a
   * link leading outside, a directory, or simply an existing name.
   */
  #explainPlacement(error: unknown, target: Location): StorageError {
    if (error instanceof Deno.errors.AlreadyExists) {
      try {
        this.#checkUploadTarget(this.#locate(target.virtual), false);
      } catch (refusal) {
        return toStorageError(refusal, target.virtual);
      }
    }
    return toStorageError(error, target.virtual);
  }

  /** Starts (or resumes) an upload into a partial file under `.dfos/partial`. */
  async beginUpload(path: string, options: UploadOptions): Promise<Upload> {
    const target = this.#locate(path);
    validateUploadOptions(target.virtual, options);
    const overwrite = options.overwrite ?? false;
    this.#checkUploadTarget(target, overwrite);
    const partialDirectory = this.#ensurePartialDirectory();
    return await LocalUpload.open({
      virtualPath: target.virtual,
      targetPath: target.real,
      partialPath: join(
        partialDirectory,
        partialFileName(target.virtual, options.size, options.mtimeMs),
      ),
      size: options.size,
      mtimeMs: options.mtimeMs,
      resume: options.resume ?? true,
      fsync: this.#fsync,
      beforeCommit: () => this.#checkUploadTarget(this.#locate(path), overwrite),
    });
  }

  /** Deletes partial uploads last written more than `maxAgeMs` ago (see local_partials.ts). */
  async cleanupPartials(maxAgeMs: number): Promise<number> {
    return await sweepPartials(this.#existingPartialDirectory(), maxAgeMs);
  }

  /** The user's partial uploads, newest first (see local_partials.ts). */
  async listPartials(options?: PartialListOptions): Promise<PartialListing> {
    return await listPartials(this.#existingPartialDirectory(), options);
  }

  /** Removes partial uploads with their records (see local_partials.ts). */
  async discardPartials(selection: PartialSelection): Promise<DiscardResult> {
    return await discardPartials(this.#existingPartialDirectory(), selection);
  }

  /** Sum of the sizes of all files under the root, `.dfos` included; symlinks are not followed. */
  async usage(): Promise<number> {
    let total = 0;
    const pending = [this.#root];
    try {
      while (pending.length > 0) {
        const directory = pending.pop()!;
        for await (const entry of readDirIfPresent(directory)) {
          const entryPath = join(directory, entry.name);
          if (entry.isDirectory) pending.push(entryPath);
          else if (entry.isFile) total += await fileSizeOrZero(entryPath);
        }
      }
    } catch (error) {
      throw toStorageError(error, "/");
    }
    return total;
  }

  /** Normalises and validates `path`, maps it under the root and confines it. */
  #locate(path: string): Location {
    const virtual = resolveVirtualPath("/", path);
    const location = { virtual, real: virtual === "/" ? this.#root : this.#root + virtual };
    this.#confinement.confine(location.real, virtual);
    return location;
  }

  /** Like {@link #locate}, but refuses the root itself (remove, rmdir, rename). */
  #locateRemovable(path: string): Location {
    const location = this.#locate(path);
    if (location.virtual === "/") {
      throw new StorageError(
        STATUS.PERMISSION_DENIED,
        "/: the root of your storage cannot be removed or moved",
      );
    }
    return location;
  }

  /**
   * The entry for one name in a listing; a symlink leading outside is shown,
   * unfollowed, as "other". Null if the name vanished meanwhile.
   */
  #listedEntry(real: string, entry: Deno.DirEntry): EntryInfo | null {
    try {
      if (entry.isSymlink) {
        // A link that loops points nowhere, like a dangling one: list it, as "other".
        const resolved = realPathOrNull(real, entry.name);
        if (resolved === null || !this.#confinement.contains(resolved)) {
          const link = Deno.lstatSync(real);
          return { name: entry.name, kind: "other", size: 0, mtimeMs: link.mtime?.getTime() ?? 0 };
        }
      }
      return toEntryInfo(entry.name, Deno.statSync(real));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Refuses uploads onto directories, existing names (unless `overwrite`), non-directories. */
  #checkUploadTarget(target: Location, overwrite: boolean): void {
    if (target.virtual === "/") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    }
    this.#requireParentDirectory(target);
    const kind = this.#kindIfExists(target);
    if (kind === "directory") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, `${target.virtual}: is a directory`);
    }
    if (kind !== null && !overwrite) {
      throw new StorageError(STATUS.EXISTS, `${target.virtual}: already exists`);
    }
  }

  #requireParentDirectory(target: Location): void {
    const parent = { virtual: virtualParent(target.virtual), real: dirname(target.real) };
    if (!fsCall(Deno.statSync, parent).isDirectory) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${parent.virtual}: not a directory`);
    }
  }

  /** The kind of what `target` names (a dangling symlink is "other"), or null if nothing. */
  #kindIfExists(target: Location): EntryKind | null {
    for (const statCall of [Deno.statSync, Deno.lstatSync]) {
      try {
        return kindOf(statCall(target.real));
      } catch (error) {
        if (!isNotFound(error) && !(error instanceof Deno.errors.NotADirectory)) {
          throw toStorageError(error, target.virtual);
        }
      }
    }
    return null;
  }

  /** `<root>/.dfos/partial`, created (mode 0o700) if missing. */
  #ensurePartialDirectory(): string {
    const location = this.#partialLocation();
    fsCall((real) => Deno.mkdirSync(real, { recursive: true, mode: 0o700 }), location);
    return location.real;
  }

  /** `<root>/.dfos/partial`, or null when no upload ever created it. */
  #existingPartialDirectory(): string | null {
    const location = this.#partialLocation();
    try {
      Deno.lstatSync(location.real);
      return location.real;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw toStorageError(error, location.virtual);
    }
  }

  #partialLocation(): Location {
    const location = {
      virtual: `/${RESERVED_NAME}/partial`,
      real: join(this.#root, RESERVED_NAME, "partial"),
    };
    this.#confinement.confine(location.real, location.virtual);
    return location;
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

/** Creates `real` (it must not exist) holding `content`, with `mtimeMs`; synced if `fsync`. */
async function writeNewFile(
  real: string,
  content: Uint8Array,
  mtimeMs: number,
  fsync: boolean,
): Promise<void> {
  const file = Deno.openSync(real, { write: true, createNew: true, mode: 0o600 });
  try {
    for (let written = 0; written < content.length;) {
      written += file.writeSync(content.subarray(written));
    }
    file.utimeSync(new Date(), new Date(mtimeMs));
    if (fsync) await file.syncData();
  } finally {
    file.close();
  }
}

/** Whether a failed `link` means the filesystem has no hard links (so rename instead). */
function linkUnsupported(error: unknown): boolean {
  if (error instanceof Deno.errors.PermissionDenied) return true;
  const code = (error as { code?: string }).code;
  return code === "ENOTSUP" || code === "EOPNOTSUPP";
}

function removeQuietly(real: string): void {
  try {
    Deno.removeSync(real);
  } catch { /* Never created, or already moved. */ }
}

/** `realPathIfPresent` that also maps a failure (a symlink loop, say) to null. */
function realPathOrNull(real: string, virtualPath: string): string | null {
  try {
    return realPathIfPresent(real, virtualPath);
  } catch {
    return null;
  }
}

/** Runs a synchronous filesystem call on `location.real`, mapping any failure to a StorageError. */
function fsCall<T>(call: (real: string) => T, location: Location): T {
  try {
    return call(location.real);
  } catch (error) {
    throw toStorageError(error, location.virtual);
  }
}

function kindOf(info: Deno.FileInfo): EntryKind {
  if (info.isFile) return "file";
  if (info.isDirectory) return "directory";
  return "other";
}

function toEntryInfo(name: string, info: Deno.FileInfo): EntryInfo {
  const kind = kindOf(info);
  return {
    name,
    kind,
    size: kind === "directory" ? 0 : info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
  };
}

function requireRegularFile(target: Location, info: Deno.FileInfo): void {
  if (info.isDirectory) {
    throw new StorageError(STATUS.IS_A_DIRECTORY, `${target.virtual}: is a directory`);
  }
  if (!info.isFile) {
    throw new StorageError(STATUS.PERMISSION_DENIED, `${target.virtual}: not a regular file`);
  }
}

function validateUploadOptions(path: string, options: UploadOptions): void {
  for (const [field, value] of [["size", options.size], ["mtimeMs", options.mtimeMs]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${path}: ${field} must be a non-negative integer, not ${value}`,
      );
    }
  }
}

async function* readDirIfPresent(directory: string): AsyncIterable<Deno.DirEntry> {
  try {
    yield* Deno.readDir(directory);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

async function fileSizeOrZero(real: string): Promise<number> {
  try {
    return (await Deno.lstat(real)).size;
  } catch (error) {
    if (isNotFound(error)) return 0;
    throw error;
  }
}
