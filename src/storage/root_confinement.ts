/**
 * Keeping every operation inside a user's root folder, even while something
 * other than the server changes the tree (a shell user swapping a folder for
 * a symlink to another user's folder, say).
 *
 * A path is walked one name at a time from the root, each folder held open
 * ({@link PinnedDirectory}) and each name looked up *in the open folder*,
 * never by re-resolving a path. A folder is opened by path and kept only if,
 * looked up through its open parent after the open, the name still leads to
 * the inode that was opened; otherwise the walk starts over. Symlinks are
 * never left to the kernel: the walk reads them and walks their target
 * itself, from the folder holding the link (or from the root, for an absolute
 * target under the root's real path), at most 40 deep. Whatever the route, a
 * step into the server's private folder is refused: by name at the root, and
 * by identity (device and inode) anywhere.
 *
 * The operation that follows acts on the last name through its open parent
 * (see {@link Located}), so it touches what the walk checked. Calls are
 * synchronous, and recently walked folders stay open (folder_cache.ts), so a
 * step costs one `lstat`, a few microseconds.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { notFound, TreeChanged } from "./confinement_errors.ts";
import {
  closeFd,
  openFileFd,
  repairDescriptorPaths,
  sameEntry,
  statFd,
} from "./descriptor_paths.ts";
import { cachedFolder, cacheFolder, forgetFolder, peekFolder } from "./folder_cache.ts";
import { toStorageError } from "./fs_errors.ts";
import { PathWalk } from "./path_walk.ts";
import { PinnedDirectory } from "./pinned_directory.ts";
import { StorageError } from "./storage.ts";
import { RESERVED_NAME } from "./virtual_path.ts";
import type { WalkScope } from "./walk_scope.ts";

/** Walks begun again because the tree changed under them, before the request is refused. */
const MAX_ATTEMPTS = 5;

/** Per root (by identity): how many times this process removed, renamed or replaced a name in it. */
const nameGenerations = new Map<string, number>();

/** Options of {@link RootConfinement.locate}. */
export interface LocateOptions {
  /**
   * Follow a symlink in the last position (stat, list, read, chdir, setMtime).
   * Default false: the result names the link itself (remove, rename, uploads).
   */
  followLast?: boolean;
  /** Create missing folders on the way, mode 0o700 (mkdir -p). Default false. */
  createParents?: boolean;
  /**
   * The last name is about to be created by a step that refuses to replace
   * anything (a no-clobber link), so it is most likely absent: it is looked
   * up with an existence check first, much cheaper than a failing `lstat`.
   * A symlink leading nowhere then reads as nothing (`info` null), which
   * that step refuses as an existing name all the same. Not with
   * `followLast`. Default false.
   */
  toCreate?: boolean;
  /** The request's walks: a folder reached by one is reused for its other children (walk_scope.ts). */
  scope?: WalkScope;
}

/**
 * Where a path leads: the folder holding its last name, held open, and what
 * that name is now. `using` closes the folder.
 */
export interface Located extends Disposable {
  /** The virtual path that was walked, for messages. */
  readonly virtual: string;
  /** The open folder that holds `name`. */
  readonly parent: PinnedDirectory;
  /** The last name; "" when the path leads to `parent` itself (the root, say). */
  readonly name: string;
  /** The names of `parent` below the root (its physical path, links resolved). */
  readonly components: readonly string[];
  /** `lstat` of `name` in `parent` (of `parent` itself when `name` is ""); null if nothing is there. */
  readonly info: Deno.FileInfo | null;
  /** The entry's path through the open parent (the parent's own path when `name` is ""). */
  readonly path: string;
  /** Hands `parent` over to the caller: closing the result no longer closes it. */
  takeParent(): PinnedDirectory;
}

/**
 * The confinement of one user's root.
 *
 * @example
 * ```ts
 * const confinement = RootConfinement.open(await Deno.realPath("server_storage/alice"));
 * const info = confinement.retrying("/docs/a.txt", () => {
 *   using located = confinement.locate("/docs/a.txt", { followLast: true });
 *   return located.info;
 * });
 * ```
 */
export class RootConfinement {
  /** The root's real (symlink-free) path. */
  readonly realRoot: string;
  readonly #rootInfo: Deno.FileInfo;
  readonly #rootKey: string;

  private constructor(realRoot: string, rootInfo: Deno.FileInfo) {
    this.realRoot = realRoot;
    this.#rootInfo = rootInfo;
    this.#rootKey = this.#cacheKey([]);
  }

  /** Confines to `realRoot`, which must be resolved with `Deno.realPath`; remembers its inode. */
  static open(realRoot: string): RootConfinement {
    using root = openPinned(realRoot);
    return new RootConfinement(realRoot, root.info);
  }

  /**
   * Runs `work`, and again (up to {@link MAX_ATTEMPTS} times in all) while it
   * throws {@link TreeChanged}; then refuses with IO_ERROR. Any other error
   * becomes a {@link StorageError} about `virtual`.
   */
  retrying<T>(virtual: string, work: () => T): T {
    for (let attempt = 1;; attempt++) {
      try {
        return work();
      } catch (error) {
        if (!(error instanceof TreeChanged)) throw toStorageError(error, virtual);
        if (attempt === MAX_ATTEMPTS) {
          throw new StorageError(
            STATUS.IO_ERROR,
            `${virtual}: changed while the server was using it; try again`,
          );
        }
      }
    }
  }

  /**
   * A number that changes whenever this process removes, renames or replaces
   * a name under this root, through any confinement of it (all the sessions
   * of a user). A walk made while it stayed the same still leads where it
   * did as far as this server is concerned; what others change outside the
   * server is not counted (their change could as well come a moment after
   * the walk's last use: the walk's folders are held open either way).
   */
  get generation(): number {
    return nameGenerations.get(this.#rootKey) ?? 0;
  }

  /** Counts a removal, rename or replacement of a name under this root (see {@link generation}). */
  namesChanged(): void {
    nameGenerations.set(this.#rootKey, this.generation + 1);
  }

  /** Walks the virtual path `virtual` (one attempt; may throw {@link TreeChanged}). */
  locate(virtual: string, options: LocateOptions = {}): Located {
    return new PathWalk(this, virtual, options).run();
  }

  /** The root, open, checked to be the folder this confinement was opened on. */
  openRoot(): PinnedDirectory {
    const key = this.#rootKey;
    const cached = cachedFolder(key);
    if (cached !== null) {
      if (this.#rootStillThere()) return cached;
      cached.close();
      forgetFolder(key);
    }
    const root = openPinned(this.realRoot);
    if (!sameEntry(root.info, this.#rootInfo)) {
      root.close();
      throw new StorageError(
        STATUS.IO_ERROR,
        "/: the storage folder was replaced while the server was running",
      );
    }
    cacheFolder(key, root);
    return root;
  }

  /**
   * The child folder `name` of `parent`, whose names below the root are
   * `components`: the cached one if the name still leads to it, else opened
   * and checked ({@link PinnedDirectory.enter}) and cached.
   */
  enterChild(parent: PinnedDirectory, components: readonly string[], name: string) {
    const key = this.#cacheKey([...components, name]);
    const cached = cachedFolder(key);
    if (cached !== null) {
      const entry = parent.lstat(name);
      if (entry !== null && entry.isDirectory && sameEntry(entry, cached.info)) {
        return { child: cached, entry };
      }
      cached.close();
      forgetFolder(key);
    }
    const entered = parent.enter(name);
    if (entered.child !== null) cacheFolder(key, entered.child);
    return entered;
  }

  /** The inode of `.dfos` as last seen open, else as `root` holds it now (null if none). */
  privateIdentity(root: PinnedDirectory): Deno.FileInfo | null {
    return peekFolder(this.#cacheKey([RESERVED_NAME]))?.info ?? root.lstat(RESERVED_NAME);
  }

  #cacheKey(components: readonly string[]): string {
    return `${this.#rootInfo.dev}:${this.#rootInfo.ino}/${components.join("/")}`;
  }

  #rootStillThere(): boolean {
    try {
      return sameEntry(Deno.statSync(this.realRoot), this.#rootInfo);
    } catch {
      return false;
    }
  }

  /** The folder `located` names, open (the parent itself when the name is ""). */
  enterFolder(located: Located): PinnedDirectory {
    if (located.name === "") return located.takeParent();
    if (located.info === null) throw notFound(located.virtual);
    if (!located.info.isDirectory) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${located.virtual}: not a directory`);
    }
    const { child } = this.enterChild(located.parent, located.components, located.name);
    if (child === null) throw new TreeChanged();
    return child;
  }

  /**
   * Opens the regular file `located` names, for reading, and checks after
   * the open that it is that very file (an open goes by path, and a swapped
   * folder on the way could have sent it elsewhere). Never blocks on a FIFO.
   */
  openFile(located: Located): { fd: number; info: Deno.FileInfo } {
    let fd: number;
    try {
      fd = openFileFd(`${located.parent.realPath}/${located.name}`);
    } catch (error) {
      const now = located.parent.lstat(located.name);
      const same = now !== null && located.info !== null && sameEntry(now, located.info);
      if (same && now.isFile) throw error;
      throw new TreeChanged();
    }
    try {
      const opened = statFd(fd);
      const now = located.parent.lstat(located.name);
      if (opened.isFile && now !== null && sameEntry(now, opened)) return { fd, info: opened };
      throw new TreeChanged();
    } catch (error) {
      closeFd(fd);
      throw error;
    }
  }

  /** Whether `folder` is this user's root. */
  isRoot(folder: PinnedDirectory): boolean {
    return sameEntry(folder.info, this.#rootInfo);
  }

  /**
   * A folder of the server's own under `<root>/.dfos` (`names` below it:
   * `partial` by default, none for `.dfos` itself), open; created (mode
   * 0o700) if missing and `create`, else null when missing. No symlink is
   * followed on the way: anything but a plain folder there is refused.
   */
  privateFolder(create: boolean, names: readonly string[] = ["partial"]): PinnedDirectory | null {
    let current = this.openRoot();
    try {
      const components: string[] = [];
      for (const name of [RESERVED_NAME, ...names]) {
        const child = this.#enterPrivate(current, components, name, create);
        current.close();
        if (child === null) return null;
        current = child;
        components.push(name);
      }
      return current;
    } catch (error) {
      current.close();
      throw error;
    }
  }

  /** The private child `name` of `folder`: a plain folder, made if missing and `create`. */
  #enterPrivate(folder: PinnedDirectory, components: string[], name: string, create: boolean) {
    let { child, entry } = this.enterChild(folder, components, name);
    if (child === null && entry === null && create) {
      try {
        Deno.mkdirSync(folder.entry(name), { mode: 0o700 });
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      ({ child, entry } = this.enterChild(folder, components, name));
    }
    if (child !== null || (entry === null && !create)) return child;
    if (entry !== null && entry.isDirectory) throw new TreeChanged();
    throw new StorageError(
      STATUS.PERMISSION_DENIED,
      `/${RESERVED_NAME}: the server's private folder is not a plain folder`,
    );
  }
}

/** Opens a folder by its path; recreates the descriptor link once if it vanished. */
function openPinned(realPath: string): PinnedDirectory {
  try {
    return PinnedDirectory.open(realPath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    repairDescriptorPaths();
    return PinnedDirectory.open(realPath);
  }
}
