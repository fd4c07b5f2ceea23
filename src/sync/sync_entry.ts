/**
 * What sync knows about one path on one side, and what it remembers of the
 * last time both sides agreed on it.
 *
 * Paths are relative to the synced folder, `/`-separated, without a leading
 * slash (`docs/report.pdf`); the folder itself is never an entry.
 *
 * @module
 */

/** The kinds of entry sync keeps in step; links and special files are skipped. */
export type SyncKind = "file" | "directory";

/** The two sides of a folder pair. */
export type Side = "local" | "remote";

/** One path as a side has it now. */
export interface SyncEntry {
  kind: SyncKind;
  /** Bytes (0 for directories). */
  size: number;
  /** SHA-256 of the content, lowercase hex (files only). */
  sha256?: string;
  /** Modification time in nanoseconds since the epoch, as that side reports it. */
  mtimeNs: bigint;
  /** Local side only: the inode, which survives a rename. */
  inode?: number;
}

/** A side's state of a path, as recorded after the last sync that agreed on it. */
export interface BaseEntry {
  kind: SyncKind;
  size: number;
  /** The content both sides had (files only). */
  sha256?: string;
  /** The local file's modification time and inode then: unchanged, it need not be hashed again. */
  localMtimeNs: bigint;
  localInode?: number;
  /** The remote file's modification time then. */
  remoteMtimeNs: bigint;
}

/** Entries by relative path. */
export type Tree<E = SyncEntry> = ReadonlyMap<string, E>;

/** The other side. */
export function otherSide(side: Side): Side {
  return side === "local" ? "remote" : "local";
}

/** Whether two entries hold the same thing: same kind and, for files, the same content. */
export function sameContent(
  a: Pick<SyncEntry, "kind" | "sha256"> | undefined,
  b: Pick<SyncEntry, "kind" | "sha256"> | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  return a.kind === "directory" || a.sha256 === b.sha256;
}

/** The parent folder of `path` ("" for a top-level entry). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** Whether `path` lies strictly inside the folder `dir`. */
export function isInside(path: string, dir: string): boolean {
  return path.length > dir.length + 1 && path.startsWith(dir) && path[dir.length] === "/";
}
