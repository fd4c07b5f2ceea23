/**
 * Keeping a local path inside a user's root folder, even when the folder
 * holds symlinks. Textual resolution ({@link resolveVirtualPath}) already
 * clamps "..": this is the second line, against links that point elsewhere.
 *
 * Resolution uses synchronous system calls: a path is resolved for every
 * request, and on a local filesystem these calls take microseconds, a
 * fraction of the cost of a round trip through Deno's thread pool.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { STATUS } from "../protocol/status.ts";
import { isNotFound, toStorageError } from "./fs_errors.ts";
import { StorageError } from "./storage.ts";

/** Symlinks followed, one through another, before a path is refused (like Linux ELOOP). */
const MAX_SYMLINK_DEPTH = 40;

/**
 * The confinement anchor of one user's root: a real (symlink-free) path
 * that every resolved path must equal or lie under.
 *
 * The check and the operation that follows are separate system calls, so
 * the root must not be writable by anyone racing the server.
 *
 * @example
 * ```ts
 * const confinement = new RootConfinement(await Deno.realPath("server_storage/alice"));
 * confinement.confine("/srv/server_storage/alice/docs/a.txt", "/docs/a.txt");
 * ```
 */
export class RootConfinement {
  readonly #root: string;
  readonly #prefix: string;

  /** `realRoot` must already be resolved with `Deno.realPath`. */
  constructor(realRoot: string) {
    this.#root = realRoot;
    this.#prefix = realRoot.endsWith("/") ? realRoot : realRoot + "/";
  }

  /** Whether a resolved path is the root or lies under it. */
  contains(resolvedPath: string): boolean {
    return resolvedPath === this.#root || resolvedPath.startsWith(this.#prefix);
  }

  /**
   * Throws PERMISSION_DENIED ("leads outside your storage") unless the
   * longest existing prefix of `realPath` resolves inside the root. A
   * dangling symlink on the way is checked by where it points, since
   * creating something through it would land there.
   */
  confine(realPath: string, virtualPath: string): void {
    this.#confine(realPath, virtualPath, 0);
  }

  #confine(realPath: string, virtualPath: string, symlinkDepth: number): void {
    const resolved = realPathIfPresent(realPath, virtualPath);
    if (resolved !== null) {
      if (!this.contains(resolved)) throw leadsOutside(virtualPath);
      return;
    }
    const parent = dirname(realPath);
    if (parent === realPath) throw leadsOutside(virtualPath);
    this.#confine(parent, virtualPath, symlinkDepth);
    const linkTarget = readLinkIfSymlink(realPath);
    if (linkTarget === null) return;
    if (symlinkDepth >= MAX_SYMLINK_DEPTH) throw leadsOutside(virtualPath);
    let base: string;
    try {
      base = Deno.realPathSync(parent);
    } catch (error) {
      throw toStorageError(error, virtualPath);
    }
    this.#confine(resolve(base, linkTarget), virtualPath, symlinkDepth + 1);
  }
}

/** `Deno.realPath`, or null when the path (or a part of it) does not exist. */
export function realPathIfPresent(realPath: string, virtualPath: string): string | null {
  try {
    return Deno.realPathSync(realPath);
  } catch (error) {
    if (isNotFound(error) || error instanceof Deno.errors.NotADirectory) return null;
    throw toStorageError(error, virtualPath);
  }
}

function leadsOutside(virtualPath: string): StorageError {
  return new StorageError(STATUS.PERMISSION_DENIED, `${virtualPath}: leads outside your storage`);
}

/** Where `realPath` points if it is a symlink, else null. */
function readLinkIfSymlink(realPath: string): string | null {
  try {
    return Deno.readLinkSync(realPath);
  } catch {
    return null;
  }
}
