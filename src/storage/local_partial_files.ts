/**
 * The files of a user's unfinished uploads, in `.dfos/partial` under the
 * user's root: the folder itself, a partial opened (made if missing) or
 * removed, and the record that says what a partial is for. Every call goes
 * through the confinement's private folder (never a path re-resolved), and
 * is made again if the tree changed under it.
 *
 * @module
 */

import { type PartialFolder } from "./local_partials.ts";
import { uploadInProgress } from "./local_upload.ts";
import {
  encodePartialRecord,
  PARTIAL_RECORD_SUFFIX,
  type PartialRecord,
} from "./partial_record.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";
import {
  createNamedPrivateFile,
  openPrivateFile,
  removeQuietly,
  replacePrivateFile,
} from "./private_files.ts";
import { TreeChanged } from "./confinement_errors.ts";
import type { RootConfinement } from "./root_confinement.ts";
import { RESERVED_NAME } from "./virtual_path.ts";

/**
 * One user's partial files, through that user's confinement.
 *
 * @example
 * ```ts
 * const partials = new LocalPartialFiles(confinement);
 * using file = partials.openPartial("/big.iso", "0a1b2c.part");
 * ```
 */
export class LocalPartialFiles {
  readonly #confinement: RootConfinement;

  constructor(confinement: RootConfinement) {
    this.#confinement = confinement;
  }

  /** `.dfos/partial`, open, made if missing. */
  open(): PinnedDirectory {
    const folder = this.#confinement.privateFolder(true);
    if (folder === null) throw new TreeChanged();
    return folder;
  }

  /** Opens the partial `name` for reading and writing, creating it empty if missing. */
  openPartial(virtual: string, name: string): Deno.FsFile {
    return this.#confinement.retrying(virtual, () => {
      using partials = this.open();
      const existing = partials.lstat(name);
      // Anything but a file under a partial's name is not the server's: clear it.
      if (existing !== null && !existing.isFile) removeQuietly(partials.entry(name));
      if (existing === null || !existing.isFile) createNamedPrivateFile(partials, name);
      return openPrivateFile(partials, name);
    });
  }

  /** What identifies the partial `name` among this process's uploads (see local_upload.ts). */
  key(name: string): string {
    return `${this.#confinement.realRoot}\0${name}`;
  }

  /** Runs `work` on `.dfos/partial` held open (null if no upload ever made it). */
  async withFolder<T>(
    create: boolean,
    work: (partials: PartialFolder | null) => Promise<T>,
  ): Promise<T> {
    using pinned = this.#confinement.retrying(
      `/${RESERVED_NAME}/partial`,
      () => this.#confinement.privateFolder(create),
    );
    if (pinned === null) return await work(null);
    return await work({ pinned, inProgress: (id) => uploadInProgress(this.key(id)) });
  }

  /** Writes the record of partial `name` under a fresh name, then renames it into place. */
  writeRecord(virtual: string, name: string, record: PartialRecord): void {
    const bytes = encodePartialRecord(record);
    this.#confinement.retrying(virtual, () => {
      using partials = this.open();
      replacePrivateFile(partials, name + PARTIAL_RECORD_SUFFIX, bytes);
    });
  }

  /** Removes the record of partial `name`; with `onlyIfOrphan`, only if the partial is absent. */
  removeRecord(virtual: string, name: string, onlyIfOrphan: boolean): void {
    this.#confinement.retrying(virtual, () => {
      using partials = this.#confinement.privateFolder(false);
      if (partials === null || (onlyIfOrphan && partials.lstat(name) !== null)) return;
      removeQuietly(partials.entry(name + PARTIAL_RECORD_SUFFIX));
    });
  }

  /** Removes the private file `name`, if it is there. */
  removeFile(virtual: string, name: string): void {
    this.#confinement.retrying(virtual, () => {
      using partials = this.#confinement.privateFolder(false);
      if (partials !== null) removeQuietly(partials.entry(name));
    });
  }
}
