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
 * @module
 */

import { dirname, join } from "node:path";
import { STATUS } from "../protocol/status.ts";
import { isNotFound, toStorageError } from "./fs_errors.ts";
import { LocalReadHandle } from "./local_read_handle.ts";
import { LocalUpload, partialFileName } from "./local_upload.ts";
import { realPathIfPresent, RootConfinement } from "./root_confinement.ts";
import {
  type EntryInfo,
  type EntryKind,
  type ReadHandle,
  type Storage,
  StorageError,
  type Upload,
  type UploadOptions,
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
  async stat(path: string): Promise<EntryInfo> {
    const target = await this.#locate(path);
    return toEntryInfo(virtualBaseName(target.virtual), await fsCall(Deno.stat, target));
  }

  /** Entries of a directory, sorted by name; `.dfos` is hidden at the root. */
  async list(path: string): Promise<EntryInfo[]> {
    const directory = await this.#locate(path);
    if (!(await fsCall(Deno.stat, directory)).isDirectory) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${directory.virtual}: not a directory`);
    }
    const entries: EntryInfo[] = [];
    try {
      for await (const entry of Deno.readDir(directory.real)) {
        if (directory.virtual === "/" && entry.name === RESERVED_NAME) continue;
        const info = await this.#listedEntry(join(directory.real, entry.name), entry);
        if (info) entries.push(info);
      }
    } catch (error) {
      throw toStorageError(error, directory.virtual);
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Creates a directory; with `parents`, also missing parents, and an existing one is fine. */
  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    const target = await this.#locate(path);
    const parents = options.parents ?? false;
    if (target.virtual === "/") {
      if (parents) return;
      throw new StorageError(STATUS.EXISTS, "/: already exists");
    }
    try {
      await Deno.mkdir(target.real, { recursive: parents, mode: 0o700 });
    } catch (error) {
      throw toStorageError(error, target.virtual);
    }
  }

  /** Removes an empty directory (not a symlink to one). */
  async rmdir(path: string): Promise<void> {
    const target = await this.#locateRemovable(path);
    if (!(await fsCall(Deno.lstat, target)).isDirectory) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${target.virtual}: not a directory`);
    }
    await fsCall(Deno.remove, target);
  }

  /** Removes a file or symlink, or with `recursive` a whole directory (not following symlinks). */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const target = await this.#locateRemovable(path);
    const recursive = options.recursive ?? false;
    if ((await fsCall(Deno.lstat, target)).isDirectory && !recursive) {
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

  /** Moves `from` to `to`; EXISTS if `to` exists unless `overwrite`. */
  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const source = await this.#locateRemovable(from);
    const destination = await this.#locateRemovable(to);
    await fsCall(Deno.lstat, source);
    if (destination.virtual.startsWith(source.virtual + "/")) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${source.virtual}: cannot be moved into itself (${destination.virtual})`,
      );
    }
    if (source.virtual === destination.virtual) return;
    await this.#requireParentDirectory(destination);
    if (!options.overwrite && (await this.#kindIfExists(destination)) !== null) {
      throw new StorageError(STATUS.EXISTS, `${destination.virtual}: already exists`);
    }
    try {
      await Deno.rename(source.real, destination.real);
    } catch (error) {
      throw toStorageError(error, destination.virtual);
    }
  }

  /** Opens a regular file for reading at any position. */
  async openRead(path: string): Promise<ReadHandle> {
    const target = await this.#locate(path);
    requireRegularFile(target, await fsCall(Deno.stat, target));
    const file = await fsCall((real) => Deno.open(real, { read: true }), target);
    try {
      const info = await file.stat();
      requireRegularFile(target, info);
      return new LocalReadHandle(file, target.virtual, info);
    } catch (error) {
      file.close();
      throw toStorageError(error, target.virtual);
    }
  }

  /** Starts (or resumes) an upload into a partial file under `.dfos/partial`. */
  async beginUpload(path: string, options: UploadOptions): Promise<Upload> {
    const target = await this.#locate(path);
    validateUploadOptions(target.virtual, options);
    const overwrite = options.overwrite ?? false;
    await this.#checkUploadTarget(target, overwrite);
    const partialDirectory = await this.#ensurePartialDirectory();
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
      beforeCommit: async () => await this.#checkUploadTarget(await this.#locate(path), overwrite),
    });
  }

  /** Deletes partial uploads whose mtime is older than `maxAgeMs`; resolves to how many. */
  async cleanupPartials(maxAgeMs: number): Promise<number> {
    const directory = await this.#existingPartialDirectory();
    if (directory === null) return 0;
    const cutoff = Date.now() - maxAgeMs;
    let removed = 0;
    try {
      for await (const entry of Deno.readDir(directory)) {
        if (!entry.isFile) continue;
        if (await removeIfOlder(join(directory, entry.name), cutoff)) removed++;
      }
    } catch (error) {
      throw toStorageError(error, `/${RESERVED_NAME}`);
    }
    return removed;
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
  async #locate(path: string): Promise<Location> {
    const virtual = resolveVirtualPath("/", path);
    const location = { virtual, real: virtual === "/" ? this.#root : this.#root + virtual };
    await this.#confinement.confine(location.real, virtual);
    return location;
  }

  /** Like {@link #locate}, but refuses the root itself (remove, rmdir, rename). */
  async #locateRemovable(path: string): Promise<Location> {
    const location = await this.#locate(path);
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
  async #listedEntry(real: string, entry: Deno.DirEntry): Promise<EntryInfo | null> {
    try {
      if (entry.isSymlink) {
        // A link that loops points nowhere, like a dangling one: list it, as "other".
        const resolved = await realPathIfPresent(real, entry.name).catch(() => null);
        if (resolved === null || !this.#confinement.contains(resolved)) {
          const link = await Deno.lstat(real);
          return { name: entry.name, kind: "other", size: 0, mtimeMs: link.mtime?.getTime() ?? 0 };
        }
      }
      return toEntryInfo(entry.name, await Deno.stat(real));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Refuses uploads onto directories, existing names (unless `overwrite`), non-directories. */
  async #checkUploadTarget(target: Location, overwrite: boolean): Promise<void> {
    if (target.virtual === "/") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    }
    await this.#requireParentDirectory(target);
    const kind = await this.#kindIfExists(target);
    if (kind === "directory") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, `${target.virtual}: is a directory`);
    }
    if (kind !== null && !overwrite) {
      throw new StorageError(STATUS.EXISTS, `${target.virtual}: already exists`);
    }
  }

  async #requireParentDirectory(target: Location): Promise<void> {
    const parent = { virtual: virtualParent(target.virtual), real: dirname(target.real) };
    if (!(await fsCall(Deno.stat, parent)).isDirectory) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${parent.virtual}: not a directory`);
    }
  }

  /** The kind of what `target` names (a dangling symlink is "other"), or null if nothing. */
  async #kindIfExists(target: Location): Promise<EntryKind | null> {
    for (const statCall of [Deno.stat, Deno.lstat]) {
      try {
        return kindOf(await statCall(target.real));
      } catch (error) {
        if (!isNotFound(error) && !(error instanceof Deno.errors.NotADirectory)) {
          throw toStorageError(error, target.virtual);
        }
      }
    }
    return null;
  }

  /** `<root>/.dfos/partial`, created (mode 0o700) if missing. */
  async #ensurePartialDirectory(): Promise<string> {
    const location = await this.#partialLocation();
    await fsCall((real) => Deno.mkdir(real, { recursive: true, mode: 0o700 }), location);
    return location.real;
  }

  /** `<root>/.dfos/partial`, or null when no upload ever created it. */
  async #existingPartialDirectory(): Promise<string | null> {
    const location = await this.#partialLocation();
    try {
      await Deno.lstat(location.real);
      return location.real;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw toStorageError(error, location.virtual);
    }
  }

  async #partialLocation(): Promise<Location> {
    const location = {
      virtual: `/${RESERVED_NAME}/partial`,
      real: join(this.#root, RESERVED_NAME, "partial"),
    };
    await this.#confinement.confine(location.real, location.virtual);
    return location;
  }
}

/** Runs a filesystem call on `location.real`, mapping any failure to a StorageError. */
async function fsCall<T>(call: (real: string) => Promise<T>, location: Location): Promise<T> {
  try {
    return await call(location.real);
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

async function removeIfOlder(real: string, cutoffMs: number): Promise<boolean> {
  try {
    const info = await Deno.lstat(real);
    if ((info.mtime?.getTime() ?? 0) >= cutoffMs) return false;
    await Deno.remove(real);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
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
