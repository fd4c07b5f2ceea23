/**
 * Putting a finished upload under its name in the local backend: where the
 * name leads (refusing directories, links leading outside, and existing
 * names unless overwriting), the step itself (a no-clobber hard link, or a
 * rename over the name), and what a refused step means. Also what any
 * operation needs to know of a symlink it acts on: what it leads to.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { isNotFound, toStorageError } from "./fs_errors.ts";
import { canonicalOf, kindOf } from "./local_entries.ts";
import { linkUnsupported } from "./private_files.ts";
import type { RetiredFiles } from "./retired_files.ts";
import type { Located, RootConfinement } from "./root_confinement.ts";
import { type EntryKind, StorageError } from "./storage.ts";
import type { WalkScope } from "./walk_scope.ts";

/** How a finished file is put under its name. */
export type PlacementStep = "link" | "rename";

/**
 * The placements of one user's uploads, through that user's confinement.
 *
 * @example
 * ```ts
 * const placement = new LocalPlacement(confinement, new RetiredFiles(confinement));
 * using target = placement.locateTarget("/docs/a.txt", false, "link");
 * placement.put(fromPath, target, false);
 * ```
 */
export class LocalPlacement {
  readonly #confinement: RootConfinement;
  readonly #retired: RetiredFiles;

  /** `retired` takes the old versions that renames replace (retired_files.ts). */
  constructor(confinement: RootConfinement, retired: RetiredFiles) {
    this.#confinement = confinement;
    this.#retired = retired;
  }

  /**
   * Moves the finished file at `from` to `target`: a rename, or a no-clobber
   * link (its failure said as {@link locateTarget} would have refused).
   */
  put(from: string, target: Located, overwrite: boolean): void {
    try {
      if (overwrite) return this.#renameOnto(from, target);
      this.#link(from, target);
    } catch (error) {
      throw this.#explain(error, target);
    }
  }

  /** Renames the entry at `from` (a file, folder or link) over `target`, as {@link put} does a file. */
  move(from: string, target: Located): void {
    this.#renameOnto(from, target);
  }

  #link(from: string, target: Located): void {
    try {
      Deno.linkSync(from, target.path);
    } catch (error) {
      if (!linkUnsupported(error)) throw error;
      // A filesystem without hard links: check, then rename, with no await in between.
      if (target.parent.lstat(target.name) !== null) throw new Deno.errors.AlreadyExists();
      return Deno.renameSync(from, target.path);
    }
    Deno.removeSync(from);
  }

  /**
   * Renames `from` over what `target` names, the old version's blocks freed
   * later (retired_files.ts); a symlink replaced counts as a changed name.
   */
  #renameOnto(from: string, target: Located): void {
    this.#retired.dropping(target, () => Deno.renameSync(from, target.path));
    // A link may be on the way of other walks; a file or nothing cannot.
    if (target.info !== null && !target.info.isFile) this.#confinement.namesChanged();
  }

  /**
   * Names a failed no-clobber link as {@link locateTarget} would: a
   * link leading outside, a directory, or simply an existing name.
   */
  #explain(error: unknown, target: Located): StorageError {
    if (error instanceof Deno.errors.AlreadyExists) {
      try {
        this.#confinement.retrying(target.virtual, () => {
          this.#checkTarget(target.virtual, target.parent.lstat(target.name), false);
        });
      } catch (refusal) {
        return toStorageError(refusal, target.virtual);
      }
    }
    return toStorageError(error, target.virtual);
  }

  /**
   * The kind of what `info` (at `virtual`) leads to: itself, or for a symlink
   * what following it reaches (null if nothing). A link leading outside the
   * root or into `.dfos` is refused, whatever the operation.
   */
  kindBehind(virtual: string, info: Deno.FileInfo): EntryKind | null {
    if (!info.isSymlink) return kindOf(info);
    try {
      using target = this.#confinement.locate(virtual, { followLast: true });
      return target.info === null ? null : kindOf(target.info);
    } catch (error) {
      const pointsNowhere = isNotFound(error) ||
        (error instanceof StorageError && error.code === STATUS.NOT_A_DIRECTORY);
      if (pointsNowhere) return null;
      throw error;
    }
  }

  /**
   * Locates an upload's target and refuses directories, links out, existing
   * names (unless `overwrite`). `step` is how the file will be put there:
   * a no-clobber "link" refuses whatever is there by itself, so the
   * name is looked up the cheap way (`toCreate` of root_confinement.ts).
   * With `scope`, a folder the request's walks reached is reused.
   */
  locateTarget(
    virtual: string,
    overwrite: boolean,
    step: PlacementStep = "rename",
    scope?: WalkScope,
  ): Located {
    const toCreate = step === "link" && !overwrite;
    return this.#confinement.retrying(virtual, () => {
      const target = this.#confinement.locate(virtual, { toCreate, scope });
      try {
        this.#checkTarget(virtual, target.info, overwrite);
        return target;
      } catch (error) {
        target[Symbol.dispose]();
        throw error;
      }
    });
  }

  #checkTarget(virtual: string, info: Deno.FileInfo | null, overwrite: boolean): void {
    if (virtual === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    if (info === null) return;
    if (this.kindBehind(virtual, info) === "directory") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, `${virtual}: is a directory`);
    }
    if (!overwrite) throw new StorageError(STATUS.EXISTS, `${virtual}: already exists`);
  }

  /** Renames the partial `name` onto the upload's target, checked again just before; its canonical path. */
  placePartial(virtual: string, name: string, overwrite: boolean): string {
    using target = this.locateTarget(virtual, overwrite);
    using partials = this.#confinement.retrying(
      virtual,
      () => this.#confinement.privateFolder(false),
    );
    if (partials === null) {
      throw new StorageError(STATUS.NOT_FOUND, `${virtual}: the partial upload vanished`);
    }
    try {
      this.#renameOnto(partials.entry(name), target);
    } catch (error) {
      throw toStorageError(error, virtual);
    }
    return canonicalOf(target);
  }
}
