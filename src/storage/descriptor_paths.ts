/**
 * Paths that name an entry *in an open folder* rather than by where the
 * folder is: `<link>/<fd>/<name>`, where `<link>` is a private symbolic link
 * to `/proc/self/fd`. The kernel resolves `/proc/self/fd/<fd>` to the open
 * folder itself, wherever it is now, so `lstat`, `mkdir`, `rename`, `link`,
 * `unlink`, `readDir`, `utime` and recursive removal through such a path act
 * in that folder even if its path was swapped for a symlink meanwhile. This
 * is how Linux programs without `openat` keep hold of a folder.
 *
 * Two facts about the runtime (Deno 2.9) shape this module, and the storage
 * tests pin both:
 *
 * - Deno refuses paths under `/proc` without `--allow-all`, by their text;
 *   a path through the private link is not under `/proc` as text. It only
 *   ever names this process's own descriptors, with a checked number and a
 *   single checked name after it (never `..`). The link lives in
 *   `<temporary folder>/dfos-fd-<uid>` (mode 0700, shared by the account's
 *   processes), or in a fresh private folder if that one is not safe.
 * - Deno *opens* a path only after resolving every symlink in it itself
 *   (including `/proc/self/fd/<fd>`, which it turns back into a path), so an
 *   open is never pinned. Callers open by path and then check, through a
 *   pinned folder, that they got the entry they meant ({@link sameEntry}).
 *   The other calls listed above take the path as given.
 *
 * `node:fs` opens are used where flags matter: `O_DIRECTORY` (a folder open
 * that meets anything else fails before the kernel opens it, so no device or
 * FIFO is ever opened as a folder) and `O_NONBLOCK` (a FIFO swapped in at the
 * last moment cannot block the server). `O_NOFOLLOW` is pointless here: Deno
 * resolves links before the open and adds it to every open itself.
 *
 * @module
 */

import { closeSync, constants, openSync } from "node:fs";
import { dirname, join } from "node:path";

/** `open(2)` flags for a folder: read-only, folders only, never blocking. */
const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK;
/** `open(2)` flags for reading a file: never blocking on a FIFO, never a controlling terminal. */
const FILE_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
/** The same for reading and writing. */
const READ_WRITE_FLAGS = constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOCTTY;

let linkDirectory: string | null = null;

/**
 * The path of open descriptor `fd` itself: `stat` on it describes the open
 * file or folder, `utime` on it changes that very inode.
 *
 * @example
 * ```ts
 * const fd = openDirectoryFd("/srv/storage/alice");
 * Deno.statSync(descriptorPath(fd)).ino; // the inode that is open
 * ```
 */
export function descriptorPath(fd: number): string {
  if (!Number.isSafeInteger(fd) || fd < 0) throw new RangeError(`not a descriptor: ${fd}`);
  return `${descriptorRoot()}/${fd}`;
}

/**
 * The path of `name` inside the folder open as `fd`. `name` must be one
 * component: not empty, not "." or "..", without "/" or NUL.
 */
export function entryPath(fd: number, name: string): string {
  if (name === "" || name === "." || name === ".." || /[/\0]/.test(name)) {
    throw new RangeError(`not a single name: ${JSON.stringify(name)}`);
  }
  return `${descriptorPath(fd)}/${name}`;
}

/** Opens the folder at `path` read-only; throws NotADirectory without opening anything else. */
export function openDirectoryFd(path: string): number {
  return openWith(path, DIRECTORY_FLAGS);
}

/** Opens `path` for reading without blocking (a FIFO opens at once and is then refused). */
export function openFileFd(path: string): number {
  return openWith(path, FILE_FLAGS);
}

/** Opens `path` for reading and writing, never blocking (the caller checks what it opened). */
export function openReadWriteFd(path: string): number {
  return openWith(path, READ_WRITE_FLAGS);
}

/** Deno's error classes for what `node:fs` reports by code, so one mapping serves both. */
const DENO_ERRORS: Record<string, new () => Error> = {
  ENOENT: Deno.errors.NotFound,
  ENOTDIR: Deno.errors.NotADirectory,
  EISDIR: Deno.errors.IsADirectory,
  EEXIST: Deno.errors.AlreadyExists,
  EACCES: Deno.errors.PermissionDenied,
  EPERM: Deno.errors.PermissionDenied,
  ELOOP: Deno.errors.FilesystemLoop,
};

function openWith(path: string, flags: number): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const DenoError = typeof code === "string" ? DENO_ERRORS[code] : undefined;
    if (DenoError === undefined) throw error;
    throw Object.assign(new DenoError(), { code });
  }
}

/** Closes a descriptor from {@link openDirectoryFd} or {@link openFileFd}. */
export function closeFd(fd: number): void {
  closeSync(fd);
}

/** What an open descriptor is: its `stat`, not its name's. */
export function statFd(fd: number): Deno.FileInfo {
  return Deno.statSync(descriptorPath(fd));
}

/** The descriptors this process has open now (read through the private link to `/proc/self/fd`). */
export function openDescriptors(): number[] {
  const descriptors: number[] = [];
  for (const entry of Deno.readDirSync(descriptorRoot())) {
    const fd = Number(entry.name);
    if (Number.isSafeInteger(fd)) descriptors.push(fd);
  }
  return descriptors;
}

/** Whether two stats describe the same inode. */
export function sameEntry(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * Checks that descriptor paths work (Linux with `/proc`), once: the server
 * refuses to touch storage otherwise rather than confine by path alone.
 *
 * @throws {Error} when `/proc/self/fd` is unavailable.
 */
export function assertDescriptorPathsWork(): void {
  const fd = openDirectoryFd("/");
  try {
    if (!sameEntry(statFd(fd), Deno.statSync("/"))) throw new Error("mismatch");
  } catch (error) {
    linkDirectory = null;
    throw new Error(
      `the storage needs /proc/self/fd (Linux) to keep hold of folders: ${String(error)}`,
    );
  } finally {
    closeFd(fd);
  }
}

/** How long a descriptor path that worked vouches for the private link, ms. */
const LINK_TRUSTED_MS = 1000;

let linkWorkedAt = Number.NEGATIVE_INFINITY;

/** Notes that a path through the private link just reached something. */
export function noteDescriptorLinkWorked(): void {
  linkWorkedAt = performance.now();
}

/**
 * Whether a path through the private link reached something within the
 * last second: a name not found through it then means the name is missing,
 * not the link (which goes only if something outside removes it; a use of
 * it found failing within that second fails once, and the next walk
 * repairs it).
 */
export function descriptorLinkWorkedLately(): boolean {
  return performance.now() - linkWorkedAt < LINK_TRUSTED_MS;
}

/**
 * Recreates the private link if something removed it (a cleaner of the
 * temporary folder, say); false if it was there. Callers use it after a
 * descriptor path was not found, to tell a missing entry from a missing link.
 */
export function repairDescriptorPaths(): boolean {
  if (linkDirectory !== null) {
    try {
      Deno.lstatSync(join(linkDirectory, "fd"));
      return false;
    } catch {
      linkDirectory = null;
    }
  }
  linkWorkedAt = Number.NEGATIVE_INFINITY; // What worked was the link that went.
  descriptorRoot();
  return true;
}

/** What the private link points to: the descriptors of whichever process follows it. */
const PROC_FDS = "/proc/self/fd";

/** `<folder>/fd`, a link to `/proc/self/fd`, made on first use. */
function descriptorRoot(): string {
  linkDirectory ??= sharedLinkDirectory() ?? privateLinkDirectory();
  return `${linkDirectory}/fd`;
}

/**
 * `<temporary folder>/dfos-fd-<uid>`: one folder per account, which every
 * process of it can share (the link means "my own descriptors" to whoever
 * follows it), so none leaves one behind. Kept only if it is a plain folder
 * of this account that nobody else may write; null if it is not (someone
 * else made it first).
 */
function sharedLinkDirectory(): string | null {
  const probe = Deno.makeTempDirSync({ prefix: "dfos-fd-probe-" });
  const { uid } = Deno.lstatSync(probe);
  Deno.removeSync(probe);
  const directory = join(dirname(probe), `dfos-fd-${uid}`);
  try {
    Deno.mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) return null;
  }
  const info = Deno.lstatSync(directory);
  if (!info.isDirectory || info.uid !== uid || ((info.mode ?? 0o777) & 0o077) !== 0) return null;
  const link = join(directory, "fd");
  if (isLinkToProc(link)) return directory;
  removeQuietly(link);
  try {
    Deno.symlinkSync(PROC_FDS, link);
  } catch { /* Made by another process meanwhile, or not: checked next. */ }
  return isLinkToProc(link) ? directory : null;
}

/** A fresh private folder for this process alone, removed when it exits normally. */
function privateLinkDirectory(): string {
  const directory = Deno.makeTempDirSync({ prefix: "dfos-fd-" });
  Deno.symlinkSync(PROC_FDS, join(directory, "fd"));
  globalThis.addEventListener("unload", () => removeQuietly(directory));
  return directory;
}

function isLinkToProc(path: string): boolean {
  try {
    return Deno.lstatSync(path).isSymlink && Deno.readLinkSync(path) === PROC_FDS;
  } catch {
    return false;
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch { /* Already gone. */ }
}
