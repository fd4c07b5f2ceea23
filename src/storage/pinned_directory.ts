/**
 * A folder held open by descriptor, so that the entries it names are the
 * entries of *that* folder, whatever happens to its path meanwhile.
 *
 * @module
 */

import { existsSync } from "node:fs";
import {
  closeFd,
  descriptorLinkWorkedLately,
  descriptorPath,
  entryPath,
  noteDescriptorLinkWorked,
  openDirectoryFd,
  repairDescriptorPaths,
  sameEntry,
  statFd,
} from "./descriptor_paths.ts";

/**
 * An open folder and the path it was opened by. `using` closes it. It may
 * be held in several places at once (the folder cache, a walk): each holder
 * but the first calls {@link retain}, each calls `close`, and the
 * descriptor closes with the last.
 *
 * @example
 * ```ts
 * using root = PinnedDirectory.open("/srv/storage/alice");
 * Deno.lstatSync(root.entry("docs")); // alice's "docs", never a path re-resolved
 * ```
 */
export class PinnedDirectory implements Disposable {
  /** The open descriptor. */
  readonly fd: number;
  /** Where it was opened: a path of plain folders, good for opening by path (then checking). */
  readonly realPath: string;
  /** Its `stat`, taken through the descriptor when it was opened: its identity (times go stale). */
  readonly info: Deno.FileInfo;
  #holders = 1;

  private constructor(fd: number, realPath: string) {
    this.fd = fd;
    this.realPath = realPath;
    try {
      this.info = statFd(fd);
    } catch (error) {
      closeFd(fd);
      throw error;
    }
  }

  /** Opens the folder at `realPath` (a non-folder throws ENOTDIR without being opened). */
  static open(realPath: string): PinnedDirectory {
    return new PinnedDirectory(openDirectoryFd(realPath), realPath);
  }

  /** Path of the folder itself, through its descriptor (for `readDir`, `utime`, `stat`). */
  get path(): string {
    return descriptorPath(this.fd);
  }

  /** Path of `name` in this folder, through its descriptor. */
  entry(name: string): string {
    return entryPath(this.fd, name);
  }

  /** `lstat` of `name` in this folder, or null if nothing is there. */
  lstat(name: string): Deno.FileInfo | null {
    for (let attempt = 1;; attempt++) {
      try {
        return Deno.lstatSync(this.entry(name));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        // Missing, unless it was the private link to /proc/self/fd that went.
        if (attempt === 2 || !repairDescriptorPaths()) return null;
      }
    }
  }

  /**
   * Whether `name` leads to something in this folder, a final symlink
   * followed (a link leading nowhere: false). Costs a fraction of an
   * `lstat` that finds nothing, which the runtime reports by building an
   * error.
   */
  leadsSomewhere(name: string): boolean {
    if (existsSync(this.entry(name))) {
      noteDescriptorLinkWorked();
      return true;
    }
    // The folder itself must be reachable, or the private link to /proc/self/fd went: ask lstat.
    // Known to be reachable if the link worked a moment ago (a batch's new files ask once).
    if (descriptorLinkWorkedLately()) return false;
    if (!existsSync(this.path)) return this.lstat(name) !== null;
    noteDescriptorLinkWorked();
    return false;
  }

  /**
   * Opens the child folder `name` by path and keeps it only if it is the
   * folder this one holds under that name *after* the open (the open may
   * have been sent elsewhere by a swapped path; the check is through this
   * descriptor, and the child's inode cannot be reused while it is open).
   * `child` is null if the open failed or met something else; `entry` is
   * what the name holds now, for the caller to tell which.
   *
   * @throws an open's failure that no change to the tree explains (a path
   * too long, no descriptors left, access refused) when the name still
   * holds a folder.
   */
  enter(name: string): { child: PinnedDirectory | null; entry: Deno.FileInfo | null } {
    let child: PinnedDirectory;
    try {
      child = PinnedDirectory.open(`${this.realPath}/${name}`);
    } catch (error) {
      const entry = this.lstat(name);
      if (entry !== null && entry.isDirectory && !explainedByChange(error)) throw error;
      return { child: null, entry };
    }
    const entry = this.lstat(name);
    if (entry !== null && entry.isDirectory && sameEntry(entry, child.info)) {
      return { child, entry };
    }
    child.close();
    return { child: null, entry };
  }

  /** Adds a holder; returns this folder. */
  retain(): PinnedDirectory {
    if (this.#holders === 0) throw new Error("retain of a closed folder");
    this.#holders++;
    return this;
  }

  /** Drops one holder; the last one closes the descriptor. Extra calls do nothing. */
  close(): void {
    if (this.#holders === 0) return;
    if (--this.#holders === 0) closeFd(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Whether an open's failure can come from the path changing under it (then the walk retries). */
function explainedByChange(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.FilesystemLoop;
}
