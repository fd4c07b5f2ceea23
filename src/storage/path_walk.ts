/**
 * One walk of a virtual path for {@link RootConfinement}: names taken one at
 * a time, each folder held open, symlinks read and walked by hand. See
 * root_confinement.ts for why.
 *
 * @module
 */

import {
  leadsIntoPrivate,
  leadsOutside,
  notADirectory,
  notFound,
  tooManyLinks,
  TreeChanged,
} from "./confinement_errors.ts";
import { sameEntry, statFd } from "./descriptor_paths.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";
import type { Located, LocateOptions, RootConfinement } from "./root_confinement.ts";
import { MAX_PATH_BYTES } from "../protocol/constants.ts";
import { RESERVED_NAME, virtualComponents, virtualParent } from "./virtual_path.ts";

/** Symlinks followed, one through another, before a path is refused (like Linux ELOOP). */
const MAX_SYMLINK_DEPTH = 40;
/**
 * Folders a walk may create (mkdir -p) before it suspects a fight and starts
 * over: twice the most names a path can hold, each taking at least two bytes.
 */
const MAX_CREATED = MAX_PATH_BYTES;

/** A walk's result; closing it closes the folder it holds. */
class LocatedEntry implements Located {
  #owned = true;

  constructor(
    readonly virtual: string,
    readonly parent: PinnedDirectory,
    readonly components: readonly string[],
    readonly name: string,
    readonly info: Deno.FileInfo | null,
  ) {}

  get path(): string {
    return this.name === "" ? this.parent.path : this.parent.entry(this.name);
  }

  takeParent(): PinnedDirectory {
    this.#owned = false;
    return this.parent;
  }

  [Symbol.dispose](): void {
    if (this.#owned) this.parent.close();
    this.#owned = false;
  }
}

/**
 * The state of one walk: the names still to take, the open folder reached
 * and its names below the root (for ".." in link targets), links followed.
 */
export class PathWalk {
  readonly #confinement: RootConfinement;
  readonly #virtual: string;
  readonly #options: LocateOptions;
  readonly #queue: string[];
  #current: PinnedDirectory;
  #components: string[] = [];
  #links = 0;
  #created = 0;
  /** The private folder's inode, refused wherever the walk meets it. */
  readonly #reserved: Deno.FileInfo | null;
  /** The virtual folder holding the last name, when the request's scope may remember it. */
  readonly #parent: string | undefined;
  /** The root's generation when the walk began. */
  readonly #generation: number;

  constructor(confinement: RootConfinement, virtual: string, options: LocateOptions) {
    this.#confinement = confinement;
    this.#virtual = virtual;
    this.#options = options;
    this.#queue = virtualComponents(virtual);
    this.#generation = confinement.generation;
    const plain = this.#queue.length > 0 &&
      !this.#queue.some((name) => name === "." || name === "..");
    this.#parent = options.scope !== undefined && plain ? virtualParent(virtual) : undefined;
    const known = this.#parent === undefined
      ? null
      : options.scope!.folder(this.#parent, this.#generation);
    if (known !== null) {
      // The folder was reached by a plain walk in this request, and no name changed since.
      this.#current = known.folder;
      this.#components = [...known.components];
      this.#reserved = known.reserved;
      this.#queue.splice(0, this.#queue.length - 1);
      this.#parent = undefined;
      return;
    }
    this.#current = confinement.openRoot();
    try {
      this.#reserved = confinement.privateIdentity(this.#current);
    } catch (error) {
      this.#current.close();
      throw error;
    }
  }

  /** Walks to the end; the result holds the last folder open. */
  run(): Located {
    try {
      while (this.#queue.length > 0) {
        const located = this.#step(this.#queue.shift()!);
        if (located !== null) return located;
      }
      return this.#located("", statFd(this.#current.fd));
    } catch (error) {
      this.#current.close();
      throw error;
    }
  }

  /** Takes one name; returns the result once the last name is reached. */
  #step(name: string): Located | null {
    if (name === ".") return null;
    if (name === "..") {
      this.#climb();
      return null;
    }
    if (this.#components.length === 0 && name === RESERVED_NAME) {
      throw leadsIntoPrivate(this.#virtual);
    }
    if (this.#queue.length > 0) {
      this.#enter(name);
      return null;
    }
    const absent = this.#options.toCreate === true && !this.#current.leadsSomewhere(name);
    const info = absent ? null : this.#current.lstat(name);
    if (info !== null && info.isSymlink && this.#options.followLast) {
      this.#follow(name);
      return null;
    }
    if (info !== null && info.isDirectory) this.#refusePrivate(info);
    if (this.#parent !== undefined && this.#links === 0 && this.#created === 0) {
      this.#options.scope!.remember(this.#parent, {
        folder: this.#current,
        components: this.#components,
        reserved: this.#reserved,
      }, this.#generation);
    }
    return this.#located(name, info);
  }

  #located(name: string, info: Deno.FileInfo | null): Located {
    return new LocatedEntry(this.#virtual, this.#current, this.#components, name, info);
  }

  /** Moves into the folder `name` of the current one, following it if it is a link. */
  #enter(name: string): void {
    const { child, entry } = this.#confinement.enterChild(this.#current, this.#components, name);
    if (child !== null) {
      this.#current.close();
      this.#current = child;
      this.#components.push(name);
      this.#refusePrivate(child.info);
      return;
    }
    if (entry === null) return this.#createOrRefuse(name);
    if (entry.isSymlink) return this.#follow(name);
    if (entry.isDirectory) throw new TreeChanged();
    throw notADirectory(this.#virtual);
  }

  /** A missing folder on the way: made with `createParents`, else NOT_FOUND. */
  #createOrRefuse(name: string): void {
    if (!this.#options.createParents) throw notFound(this.#virtual);
    if (++this.#created > MAX_CREATED) throw new TreeChanged();
    try {
      Deno.mkdirSync(this.#current.entry(name), { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    this.#queue.unshift(name);
  }

  /** Replaces the link `name` by its target's names: from here, or from the root if absolute. */
  #follow(name: string): void {
    if (++this.#links > MAX_SYMLINK_DEPTH) throw tooManyLinks(this.#virtual);
    let target: string;
    try {
      target = Deno.readLinkSync(this.#current.entry(name));
    } catch (error) {
      // Gone, or no longer a link: it changed since the lstat.
      if (error instanceof Deno.errors.PermissionDenied) throw error;
      throw new TreeChanged();
    }
    const names = target.split("/").filter((part) => part !== "");
    if (target.startsWith("/")) {
      const inside = this.#belowRoot(target);
      if (inside === null) throw leadsOutside(this.#virtual);
      this.#restartAtRoot();
      this.#queue.unshift(...inside);
    } else {
      this.#queue.unshift(...names);
    }
  }

  /** ".." in a link target: the parent of the current folder, walked again from the root. */
  #climb(): void {
    if (this.#components.length === 0) throw leadsOutside(this.#virtual);
    const parent = this.#components.slice(0, -1);
    this.#restartAtRoot();
    this.#queue.unshift(...parent, ".");
  }

  #restartAtRoot(): void {
    const root = this.#confinement.openRoot();
    this.#current.close();
    this.#current = root;
    this.#components = [];
  }

  /** The names of an absolute link target below the root's real path, or null if it is not. */
  #belowRoot(target: string): string[] | null {
    const names = target.split("/").filter((part) => part !== "");
    const root = this.#confinement.realRoot.split("/").filter((part) => part !== "");
    if (names.length < root.length || root.some((part, index) => names[index] !== part)) {
      return null;
    }
    return names.slice(root.length);
  }

  #refusePrivate(info: Deno.FileInfo): void {
    if (this.#reserved !== null && sameEntry(info, this.#reserved)) {
      throw leadsIntoPrivate(this.#virtual);
    }
  }
}
