/**
 * Walks shared across the files of one request. A tree's small files come
 * many to a request, most of them in the same folder; walking each one's
 * path from the root again (a `stat` of the root, an `lstat` per folder on
 * the way, and the private folder's two) cost about a third of what the
 * server spent storing a 4 KiB file. Within one request a folder reached by
 * a walk is reused for its other children, and `.dfos/partial` is opened
 * once.
 *
 * What a reuse trusts is what a single upload already trusts between its
 * walk and the step that places it: the folder is held open, so every name
 * is still taken in that very folder; no name under the root was removed,
 * renamed or replaced by this server meanwhile (the root's
 * {@link RootConfinement.generation} is unchanged, else the path is walked
 * again); and the walk that found it followed no symlink. A folder moved on
 * the server's disk by something else during the request may still receive
 * that request's remaining files, as it would receive a single upload
 * walked just before the move.
 *
 * @module
 */

import type { PinnedDirectory } from "./pinned_directory.ts";

/** Folders remembered at most: a request's files come grouped by folder. */
const MAX_FOLDERS = 8;

/** A folder a walk reached, for its other children. */
export interface WalkedFolder {
  /** The open folder; retained for the caller by {@link WalkScope.folder}. */
  folder: PinnedDirectory;
  /** Its names below the root. */
  components: readonly string[];
  /** The private folder's identity as the walk knew it (refused wherever met). */
  reserved: Deno.FileInfo | null;
}

/**
 * The walks of one request. `using` closes what it holds; a walk's own
 * result holds its folder on its own account.
 *
 * @example
 * ```ts
 * using scope = new WalkScope();
 * using a = confinement.locate("/docs/a.txt", { scope }); // walked from the root
 * using b = confinement.locate("/docs/b.txt", { scope }); // only "b.txt" is looked up
 * ```
 */
export class WalkScope implements Disposable {
  readonly #folders = new Map<string, WalkedFolder & { generation: number }>();
  #private: PinnedDirectory | null = null;
  #closed = false;

  /**
   * The folder remembered for the virtual folder `virtual`, retained for the
   * caller, if it was reached while the root's generation was `generation`.
   */
  folder(virtual: string, generation: number): WalkedFolder | null {
    const known = this.#folders.get(virtual);
    if (known === undefined) return null;
    if (known.generation !== generation) {
      this.#folders.delete(virtual);
      known.folder.close();
      return null;
    }
    return {
      folder: known.folder.retain(),
      components: known.components,
      reserved: known.reserved,
    };
  }

  /** Remembers `walked.folder` (retaining it) as the virtual folder `virtual` at `generation`. */
  remember(virtual: string, walked: WalkedFolder, generation: number): void {
    if (this.#closed || this.#folders.has(virtual)) return;
    if (this.#folders.size >= MAX_FOLDERS) {
      const [oldest, evicted] = this.#folders.entries().next().value!;
      this.#folders.delete(oldest);
      evicted.folder.close();
    }
    this.#folders.set(virtual, {
      folder: walked.folder.retain(),
      components: [...walked.components],
      reserved: walked.reserved,
      generation,
    });
  }

  /** `.dfos/partial`, opened by `open` the first time, retained for the caller. */
  privateFolder(open: () => PinnedDirectory): PinnedDirectory {
    if (this.#private !== null) return this.#private.retain();
    const folder = open();
    if (!this.#closed) this.#private = folder.retain();
    return folder;
  }

  [Symbol.dispose](): void {
    this.#closed = true;
    for (const known of this.#folders.values()) known.folder.close();
    this.#folders.clear();
    this.#private?.close();
    this.#private = null;
  }
}
