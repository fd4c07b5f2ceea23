/**
 * Old versions of replaced files, and removed files and folders, freed out
 * of the requests' way. The rename that puts a new version over an old one
 * frees the old one's blocks inside that call, and on a filesystem mounted
 * with online discard the next disk sync waits for those blocks to be
 * discarded as well: 100–300 µs a file of 4 KiB on an ext4 disk, on the
 * server's event loop, and as much again in each sync that follows; a
 * removal costs the same, and a folder of 20,000 such files 1.3 s. So the
 * old version is first given a second name in `.dfos/retired` (a hard link,
 * microseconds), a removed folder is moved there whole (one rename), and the
 * last names go when the session is idle (or once many wait, or the oldest
 * has waited a second; a folder at once), a few at a time on other threads,
 * after the request's reply.
 *
 * A crash at any point loses nothing and leaves only garbage: a retired name
 * holds a version that was replaced or removed, or one that still has its
 * own name (a rename or removal that failed or never ran). Whatever is in
 * `.dfos/retired` is garbage, removed by {@link sweepRetired} at the
 * server's start and with each sweep of stale partials, and not counted in
 * the user's usage.
 *
 * @module
 */

import { fchmodSync } from "node:fs";
import type { PinnedDirectory } from "./pinned_directory.ts";
import { removeQuietly } from "./private_files.ts";
import type { Located, RootConfinement } from "./root_confinement.ts";

/** The folder under `.dfos` that holds the retired names. */
export const RETIRED_FOLDER = "retired";

/** Retired names that may wait before their removal starts without waiting for idleness. */
const MAX_WAITING = 1024;

/** Bytes the waiting names may hold before their removal starts (64 MiB): disk space held back. */
const MAX_WAITING_BYTES = 64 * 1024 * 1024;

/** How long the oldest name may wait, ms, before the next release starts the removal anyway. */
const MAX_WAITING_MS = 1000;

/** Removals running at once: each is a trip to another thread, and the filesystem serialises much of it. */
const PARALLEL_REMOVALS = 4;

/** A name given to an old version: released after its rename, cancelled if the rename failed. */
export interface RetiredName {
  readonly name: string;
  readonly bytes: number;
}

/**
 * The retired old versions of one user's files. {@link retire} links the
 * file a rename is about to replace; {@link release} queues the name once
 * the rename is done; {@link tidy} removes what waits.
 *
 * @example
 * ```ts
 * const retired = new RetiredFiles(confinement);
 * const old = retired.retire(target);
 * Deno.renameSync(fresh, target.path); // drops a name; frees nothing
 * if (old !== null) retired.release(old);
 * await retired.tidy(); // when nothing else waits
 * ```
 */
export class RetiredFiles {
  readonly #confinement: RootConfinement;
  /** `.dfos/retired`, open while names wait; each removal round takes it over. */
  #folder: PinnedDirectory | null = null;
  #waiting: string[] = [];
  #waitingBytes = 0;
  /** When the oldest waiting name was released (by the clock given). */
  #waitingSince = 0;
  /** The removal rounds under way, one after another. */
  #removing: Promise<void> = Promise.resolve();
  readonly #prefix = `${crypto.randomUUID().slice(0, 8)}-`;
  #count = 0;

  readonly #now: () => number;

  /** `now`: the clock that ages waiting names, ms (default `performance.now`). */
  constructor(confinement: RootConfinement, options: { now?: () => number } = {}) {
    this.#confinement = confinement;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Gives the regular file `target` names a second name, if replacing it
   * would free blocks (it is not empty and has no other name); null when
   * not, or when the link cannot be made (another filesystem below, no hard
   * links): the rename then frees the blocks itself, as it always did.
   */
  retire(target: Located): RetiredName | null {
    const info = target.info;
    if (info === null || !info.isFile || info.size === 0 || info.nlink !== 1) return null;
    try {
      const { folder, name } = this.#newName();
      Deno.linkSync(target.path, folder.entry(name));
      return { name, bytes: info.size };
    } catch {
      return null;
    }
  }

  /**
   * Runs `drop`, the step that takes the name `target` holds (a rename over
   * it, its removal), with the old version retired first if that frees
   * blocks later instead of in `drop`; a `drop` that fails leaves the file
   * as it was, and no retired name.
   */
  dropping(target: Located, drop: () => void): void {
    const old = this.retire(target);
    try {
      drop();
    } catch (error) {
      if (old !== null) this.cancel(old);
      throw error;
    }
    if (old !== null) this.release(old);
  }

  /**
   * Removes what `entry` names now, its blocks freed later: a file as
   * {@link dropping} does (a folder in its place since the walk is removed
   * as its removal in place would); with `recursive`, a folder is moved into
   * `.dfos/retired` whole, in one rename, which also makes its removal all or
   * nothing. False only for a folder that could not be moved (another
   * filesystem below): the caller removes it in place.
   */
  removeLater(entry: Located, recursive: boolean): boolean {
    if (entry.info?.isDirectory && recursive) return this.#moveAside(entry);
    this.dropping(entry, () => Deno.removeSync(entry.path));
    return true;
  }

  /** A new name in `.dfos/retired`, the folder opened (and made) if it is not open. */
  #newName(): { folder: PinnedDirectory; name: string } {
    this.#folder ??= this.#confinement.privateFolder(true, [RETIRED_FOLDER])!;
    return { folder: this.#folder, name: `${this.#prefix}${++this.#count}` };
  }

  #moveAside(entry: Located): boolean {
    try {
      const { folder, name } = this.#newName();
      Deno.renameSync(entry.path, folder.entry(name));
      // What a folder holds is unknown here, and no longer counted as the user's: it goes now,
      // off the request's way, rather than wait for the session to be idle.
      this.release({ name, bytes: 0 });
      void this.tidy();
      return true;
    } catch {
      return false;
    }
  }

  /** The rename did not happen: the name goes now (it frees nothing, the file keeps its own). */
  cancel(retired: RetiredName): void {
    if (this.#folder !== null) removeQuietly(this.#folder.entry(retired.name));
  }

  /**
   * The rename is done: the name waits for {@link tidy}, which starts at
   * once if too many wait, or they hold too much, or the oldest has waited
   * long (a client that never lets its session be idle holds back little).
   */
  release(retired: RetiredName): void {
    const now = this.#now();
    if (this.#waiting.length === 0) this.#waitingSince = now;
    this.#waiting.push(retired.name);
    this.#waitingBytes += retired.bytes;
    if (
      this.#waiting.length >= MAX_WAITING || this.#waitingBytes >= MAX_WAITING_BYTES ||
      now - this.#waitingSince >= MAX_WAITING_MS
    ) {
      void this.tidy();
    }
  }

  /**
   * Removes every waiting name and lets go of the folder; resolves (never
   * rejects) when they and earlier rounds are gone.
   */
  tidy(): Promise<void> {
    const folder = this.#folder;
    this.#folder = null;
    if (folder === null) return this.#removing;
    if (this.#waiting.length === 0) {
      folder.close(); // Opened for a name that was cancelled, or never made.
      return this.#removing;
    }
    const names = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    // Never rejects: what could not be removed is garbage for the sweep.
    this.#removing = this.#removing.then(() => removeAll(folder, names))
      .finally(() => folder.close())
      .catch(() => {});
    return this.#removing;
  }
}

/** Removes `names` from `folder`, {@link PARALLEL_REMOVALS} at a time; a failure leaves garbage for the sweep. */
async function removeAll(folder: PinnedDirectory, names: readonly string[]): Promise<void> {
  let next = 0;
  const remover = async () => {
    while (next < names.length) await removeEntry(folder, names[next++]).catch(() => {});
  };
  await Promise.all(Array.from({ length: PARALLEL_REMOVALS }, remover));
}

/**
 * Removes the file, link or folder `name` of `folder` by Rust's
 * remove_dir_all, which never follows a symlink. A folder that the user had
 * made read-only (a client may set permission bits) is first made writable
 * by its owner, the server, and removed again: it must not stay here,
 * uncounted, for good.
 */
async function removeEntry(folder: PinnedDirectory, name: string): Promise<void> {
  try {
    await Deno.remove(folder.entry(name), { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    openFolders(folder, name);
    await Deno.remove(folder.entry(name), { recursive: true });
  }
}

/**
 * Gives the folder `name` of `parent`, and every folder below it, mode
 * 0o700, each through its own descriptor: entered only if it is the folder
 * the parent holds under that name, so a symlink is never followed.
 */
function openFolders(parent: PinnedDirectory, name: string): void {
  const { child } = parent.enter(name);
  if (child === null) return;
  try {
    fchmodSync(child.fd, 0o700);
    for (const entry of Deno.readDirSync(child.path)) {
      if (entry.isDirectory) openFolders(child, entry.name);
    }
  } finally {
    child.close();
  }
}

/**
 * Removes whatever `.dfos/retired` holds under `confinement`'s root (all of
 * it is garbage; see the module documentation); resolves to how many.
 */
export async function sweepRetired(confinement: RootConfinement): Promise<number> {
  using folder = confinement.privateFolder(false, [RETIRED_FOLDER]);
  if (folder === null) return 0;
  const names: string[] = [];
  for (const entry of Deno.readDirSync(folder.path)) names.push(entry.name);
  await removeAll(folder, names);
  return names.length;
}
