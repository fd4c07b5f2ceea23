/**
 * Sync's changes to the local folder, each made only if the path is still
 * what the scan saw: a file edited since then is never deleted, moved aside
 * or replaced, it is reported as changed and left for the next run.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { localEntryOf } from "./local_scan.ts";
import type { SyncEntry } from "./sync_entry.ts";

/** A path is no longer what the plan was made from: the other step must wait for the next run. */
export class ChangedMeanwhile extends Error {
  constructor(readonly path: string, why: string) {
    super(`${path}: ${why} since the sync looked at it; left for the next run`);
    this.name = "ChangedMeanwhile";
  }
}

/** Local folder operations of a sync rooted at `root`. */
export class LocalSide {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** The absolute local path of a relative sync path. */
  resolve(path: string): string {
    return join(this.#root, ...path.split("/"));
  }

  /** Throws {@link ChangedMeanwhile} unless `path` is still `expected` (absent if undefined). */
  check(path: string, expected: SyncEntry | undefined): Promise<void> {
    try {
      this.checkNow(path, expected);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link check}, synchronously: for the moment just before a file is replaced. */
  checkNow(path: string, expected: SyncEntry | undefined): void {
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(this.resolve(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (expected === undefined) {
      if (info !== undefined) throw new ChangedMeanwhile(path, "something was created there");
      return;
    }
    if (info === undefined) throw new ChangedMeanwhile(path, "it was deleted");
    const kind = info.isDirectory ? "directory" : info.isFile ? "file" : "other";
    if (kind !== expected.kind) throw new ChangedMeanwhile(path, "it was replaced");
    if (kind === "file") {
      const found = localEntryOf(info);
      if (
        found.size !== expected.size || found.mtimeNs !== expected.mtimeNs ||
        found.inode !== expected.inode
      ) {
        throw new ChangedMeanwhile(path, "it was changed");
      }
    }
  }

  /** Creates the folder `path` and its parents; an existing folder is fine. */
  async mkdir(path: string): Promise<void> {
    await Deno.mkdir(this.resolve(path), { recursive: true });
  }

  /** Removes `path` if it is still `expected`; a folder only if empty. */
  async delete(path: string, expected: SyncEntry): Promise<void> {
    await this.check(path, expected);
    await Deno.remove(this.resolve(path)).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return;
      if (expected.kind === "directory" && isNotEmpty(error)) {
        throw new ChangedMeanwhile(path, "files were added to the folder");
      }
      throw error;
    });
  }

  /** Moves `from` to `to` if `from` is still `expected` and `to` free; creates `to`'s parents. */
  async rename(from: string, to: string, expected: SyncEntry): Promise<void> {
    await this.check(from, expected);
    await this.check(to, undefined);
    await Deno.mkdir(dirname(this.resolve(to)), { recursive: true });
    if (expected.kind === "directory") {
      // rename(2) replaces only an empty folder, so nothing can be lost there.
      return await Deno.rename(this.resolve(from), this.resolve(to));
    }
    // A hard link never replaces what may have appeared at `to` since the check.
    await Deno.link(this.resolve(from), this.resolve(to)).catch((error) => {
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new ChangedMeanwhile(to, "something was created there");
      }
      throw error;
    });
    await Deno.remove(this.resolve(from));
  }
}

function isNotEmpty(error: unknown): boolean {
  return error instanceof Error && /not empty|ENOTEMPTY|os error 39/i.test(error.message);
}
