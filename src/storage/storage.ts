/**
 * The storage contract: what the server needs from a place that keeps one
 * user's files. Paths given to a {@link Storage} are *virtual*: absolute,
 * normalised paths inside the user's root ("/", "/docs/a.txt"), produced by
 * {@link resolveVirtualPath}. A backend maps them onto its medium and must
 * never touch anything outside the user's root, whatever the path.
 *
 * Every failure a client can cause is a {@link StorageError} with a protocol
 * status code, so the server can reply with a status instead of crashing.
 *
 * ## What each backend does
 *
 * The contract is written as the server sees it; a few operations were shaped
 * by the filesystem, and each says (under "Backends:") what it asks of any
 * backend and how the two backends do it: the local one (local_storage.ts)
 * and the object store's (object/object_storage.ts: names in PostgreSQL,
 * contents in immutable objects). In short:
 *
 * - uploads ({@link Upload}): resumable from what was stored, placed all or
 *   nothing. Local: appends to a hidden partial file, syncs it, renames it.
 *   Object store: a multipart upload of 8 MiB parts recorded as they
 *   complete (an interrupted one keeps its unfinished part as a small
 *   object), named once complete and its SHA-256 checked (a resumed one by
 *   reading it back once).
 * - {@link Storage.rename}: atomic, of a file or a whole folder, no bytes
 *   copied. Local: one rename(2). Object store: one transaction.
 * - {@link Storage.setMtime}: files and folders keep the times given.
 *   Local: utimes. Object store: a column.
 * - {@link Storage.usage}: bytes of files and partials. Local: walks the
 *   tree. Object store: one sum in SQL.
 * - {@link Storage.walk}: local: down through the folders held open; object
 *   store: one listing per folder.
 * - partials (list, discard, sweep): one per (path, size, mtime) tried, with
 *   what it is for. Local: files in `.dfos/partial` named by a hash, each
 *   with a record beside it. Object store: the upload records.
 * - {@link Storage.openJournal}: one writer at a time. Local: an SQLite file
 *   in `.dfos`, held by one process. Object store: the journal in
 *   PostgreSQL, written by each change's own transaction (any node).
 * - symbolic links: a backend may have none (then {@link Storage.lstat}
 *   never says "symlink" and {@link Storage.canonicalPath} changes no
 *   name), as the object store has none. Local: links found on disk are
 *   followed while they stay inside the root.
 *
 * Every backend runs the shared contract suite (tests/storage/storage_contract.ts),
 * each case against each backend; a backend excused from a case says why there.
 *
 * @module
 */

import type { StatusCode } from "../protocol/status.ts";
import type { Journal } from "./journal.ts";

/** What kind of thing a directory entry is. */
export type EntryKind = "file" | "directory" | "symlink" | "other";

/** One entry of a listing, or the result of a stat. */
export interface EntryInfo {
  /** Last path component ("" for the root). */
  name: string;
  kind: EntryKind;
  /** Size in bytes (0 for directories). */
  size: number;
  /** Modification time, milliseconds since the epoch. */
  mtimeMs: number;
  /** Permission bits (at most 0o777), where the backend keeps them. */
  mode?: number;
}

/** One entry met by {@link Storage.walk}. */
export interface WalkedEntry {
  /** Absolute path. */
  path: string;
  entry: EntryInfo;
}

/** A file opened for reading. The caller must call `close()`. */
export interface ReadHandle {
  size: number;
  mtimeMs: number;
  /** Reads into `buffer` at `position`; resolves to bytes read, or null at end of file. */
  read(buffer: Uint8Array, position: number): Promise<number | null>;
  close(): void;
}

/** Options of {@link Storage.beginUpload}. */
export interface UploadOptions {
  /** Total size the client announced. */
  size: number;
  /** Modification time to give the file when it is committed. */
  mtimeMs: number;
  /** Replace an existing file of the same name. Default false: EXISTS. */
  overwrite?: boolean;
  /** Continue a partial left by an earlier attempt at the same (path, size, mtime). Default true. */
  resume?: boolean;
}

/** Options of {@link Storage.writeFile}. */
export interface WholeFileOptions {
  /** Modification time to give the file. */
  mtimeMs: number;
  /** Replace an existing file of the same name. Default false: EXISTS. */
  overwrite?: boolean;
  /** SHA-256 (hex) the content must have; CHECKSUM_MISMATCH otherwise. */
  sha256Hex: string;
  /** Runs the step that puts the file under its name. Default: runs it as it is. */
  guard?: PlacementGuard;
  /** The request's shared work, from the same backend's {@link Storage.batch}. */
  batch?: StorageBatch;
}

/**
 * What a backend may share across the files of one request (the local
 * backend: folders walked once, walk_scope.ts). Disposed when the request
 * has ended; a file stored with one is stored exactly as without it.
 */
export type StorageBatch = Disposable;

/** A file just put under its name: its entry, and its path as {@link Storage.canonicalPath} says it. */
export interface PlacedFile {
  path: string;
  entry: EntryInfo;
}

/**
 * Runs `place`, the step that puts a verified, synced file under its name,
 * and may check and record around it: the server takes its per-user commit
 * lock, checks a request's condition before and records the change after.
 * Whatever it throws fails the commit; a file it did not place is not placed.
 */
export type PlacementGuard = (place: () => Promise<PlacedFile>) => Promise<PlacedFile>;

/** Options of {@link Upload.commit}. */
export interface CommitOptions {
  /** Runs the step that puts the file under its name. Default: runs it as it is. */
  guard?: PlacementGuard;
}

/** Options of {@link Storage.canonicalPath}. */
export interface CanonicalOptions {
  /** Resolve a symlink in the last position too (what stat and setMtime act on). Default false. */
  followLast?: boolean;
}

/** What {@link Storage.locateEntry} finds: the canonical path, and the entry there if any. */
export interface LocatedEntry {
  path: string;
  /** As `lstat` describes it; null if the last name holds nothing. */
  entry: EntryInfo | null;
}

/**
 * An upload in progress. Bytes go to a hidden partial; the real name only
 * ever holds a complete, verified file.
 *
 * Backends: the bytes arrive in order, appended; a backend keeps what it has
 * durably stored of them, and `offset` says how much (a backend storing in
 * parts may resume from the end of the last whole part, the client then sends
 * the rest again). Commit must be all or nothing: the name shows the old file
 * or the whole new one. Local: a partial file in `.dfos/partial`, appended to,
 * synced (with fsync on) and renamed into place. Object store: a multipart
 * upload whose parts are recorded as the store confirms them; an upload that
 * stops keeps its unfinished part as a small object, so it resumes from its
 * last byte (after a node was killed, from its last whole part).
 */
export interface Upload {
  /** Bytes already present (resumed from an earlier attempt); the client sends from here. */
  readonly offset: number;
  /** Appends bytes. Fails with TOO_LARGE past the announced size. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Checks that exactly `size` bytes arrived and that their SHA-256 (hex) is
   * `sha256Hex`, then syncs and renames the partial into place atomically and
   * sets its mtime; resolves to the file's entry as placed. On
   * CHECKSUM_MISMATCH, and when the guard refuses with CONFLICT, the partial
   * is removed; after any other failure it is kept for a later resume.
   */
  commit(sha256Hex: string, options?: CommitOptions): Promise<EntryInfo>;
  /** Stops the upload: keeps the partial for a later resume, or removes it. */
  abort(keepPartial: boolean): Promise<void>;
}

/** One partial upload: an unfinished upload's bytes, kept so that it can resume. */
export interface PartialInfo {
  /** Names the partial among the user's partials while it exists (for discarding it). */
  id: string;
  /** The path the upload will become; null if unknown (a partial older than its record). */
  path: string | null;
  /** The whole file's announced size; null when the path is unknown. */
  size: number | null;
  /** The modification time the upload is for, ms; null when the path is unknown. */
  mtimeMs: number | null;
  /** Bytes received so far. */
  received: number;
  /** When it was last written, ms since the epoch. */
  writtenMs: number;
  /** An upload is writing it now: it cannot be discarded. */
  active: boolean;
}

/** Options of {@link Storage.listPartials}. */
export interface PartialListOptions {
  /** Only partials whose path is this one or lies below it. Default "/": all, unknown paths too. */
  under?: string;
  /** At most this many partials, newest first. Default {@link DEFAULT_PARTIALS_LISTED}. */
  limit?: number;
}

/** Partials listed by default: a listing is bounded whatever the number kept. */
export const DEFAULT_PARTIALS_LISTED = 1024;

/** What {@link Storage.listPartials} found. */
export interface PartialListing {
  /** The partials selected, most recently written first. */
  partials: PartialInfo[];
  /** Further partials were selected but left out by the limit. */
  more: boolean;
  /** How many partials the user has in all, whatever the selection. */
  count: number;
  /** Bytes they take in all (the part of {@link Storage.usage} that is partials). */
  bytes: number;
  /** The part of `bytes` held by partials an upload is writing now. */
  bytesInProgress: number;
}

/** Which partials {@link Storage.discardPartials} removes. */
export type PartialSelection =
  /** Every partial of this file (one per size and mtime tried); NOT_FOUND if none. */
  | { kind: "path"; path: string }
  /** The partial with this id; NOT_FOUND if none. */
  | { kind: "id"; id: string }
  /** Every partial at or below `under` ("/": all, unknown paths too); none is no error. */
  | { kind: "all"; under: string };

/** What {@link Storage.discardPartials} removed. */
export interface DiscardResult {
  /** Partials removed. */
  count: number;
  /** Bytes freed. */
  bytes: number;
  /** Partials selected but kept because an upload is writing them. */
  busy: number;
}

/** The operations a storage backend offers for one user's root. */
export interface Storage {
  stat(path: string): Promise<EntryInfo>;
  /** Describes the last name of `path` itself: a symlink is kind "symlink", wherever it leads. */
  lstat(path: string): Promise<EntryInfo>;
  /**
   * `path` with every symbolic link on the way resolved (the last one only
   * with `followLast`): where the journal knows it. NOT_FOUND if a folder
   * on the way is missing.
   */
  canonicalPath(path: string, options?: CanonicalOptions): Promise<string>;
  /**
   * {@link canonicalPath} and {@link lstat} in one look (what a condition
   * checks): NOT_FOUND, as there, for a folder missing on the way, but
   * `entry` null for a last name that holds nothing. `batch`: the
   * request's shared work ({@link WholeFileOptions.batch}).
   */
  locateEntry(path: string, options?: { batch?: StorageBatch }): Promise<LocatedEntry>;
  /** Entries of a directory, sorted by name; never shows partial uploads or reserved names. */
  list(path: string): Promise<EntryInfo[]>;
  /**
   * Every entry under `folder` (not `folder` itself), in the order of their
   * paths' UTF-8 bytes (tree_walk.ts), links and special files yielded but
   * never entered; never partial uploads or reserved names. A folder gone
   * by the time the walk reaches it has nothing in it; any other failure to
   * read one ends the walk with that error, so that a folder that could not
   * be read never looks empty.
   *
   * Backends: holds one folder's entries per level, never the whole tree
   * (`walkByListing` in tree_walk.ts does it through {@link list}). Local:
   * descends through the folders it holds open, without locating each one
   * from the root again. Object store: one listing per folder.
   */
  walk(folder: string): AsyncIterable<WalkedEntry>;
  mkdir(path: string, options?: { parents?: boolean }): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Removes a file, or with `recursive` a directory and everything under it. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  /**
   * Sets the modification time of a file or directory (trees keep their folders' times).
   *
   * Backends: folders have a time of their own, kept as given until a change
   * in the folder; a backend without real folders keeps it with the folder's
   * name. Local: utimes. Object store: a column of the name's row.
   */
  setMtime(path: string, mtimeMs: number): Promise<void>;
  /**
   * Moves or renames; fails with EXISTS if `to` exists unless `overwrite`.
   *
   * Backends: atomic for a file and for a whole folder, never seen half
   * done, and no bytes copied: a backend whose names are not its medium's
   * (an object store) renames its own name records in one transaction.
   * Local: one rename(2). Object store: one statement in one transaction.
   */
  rename(from: string, to: string, options?: { overwrite?: boolean }): Promise<void>;
  /** Opens a regular file for reading; with `batch`, the request's walks are shared (as {@link WholeFileOptions.batch}). */
  openRead(path: string, options?: { batch?: StorageBatch }): Promise<ReadHandle>;
  beginUpload(path: string, options: UploadOptions): Promise<Upload>;
  /**
   * Stores a small file in one step, with the same checks and guarantees as
   * a committed upload (the name shows the old file or the whole new one),
   * but nothing to resume: a failure leaves nothing behind. Resolves to the
   * file's entry as placed.
   */
  writeFile(path: string, content: Uint8Array, options: WholeFileOptions): Promise<EntryInfo>;
  /** Work to share across the files of one request ({@link WholeFileOptions.batch}), if the backend has any. */
  batch?(): StorageBatch;
  /**
   * Deletes partial uploads untouched for longer than `maxAgeMs`; resolves to how many.
   *
   * Backends: "untouched" is the time the partial was last written to
   * ({@link PartialInfo.writtenMs}); an upload writing one keeps it. Local:
   * the partial files' modification times. Object store: the upload
   * records' last write.
   */
  cleanupPartials(maxAgeMs: number): Promise<number>;
  /**
   * Finishes work a backend put off to answer sooner; the server calls it
   * when a session has no request left to serve, and as the session ends.
   * Resolves, never rejects, when it is done.
   *
   * Backends: Local: removes the old versions of replaced files, whose
   * blocks a rename would otherwise free before it returns
   * (retired_files.ts). Object store: nothing is put off.
   */
  tidy(): Promise<void>;
  /** The user's partial uploads, newest first, with what they are for and hold. */
  listPartials(options?: PartialListOptions): Promise<PartialListing>;
  /**
   * Removes partial uploads, except those an upload is writing (EXISTS if
   * that leaves nothing of a path or id asked for). Resumes start over.
   */
  discardPartials(selection: PartialSelection): Promise<DiscardResult>;
  /**
   * Bytes used by the user's files, partial uploads included.
   *
   * Backends: the sum of the sizes the user's names and partials hold; a
   * backend that keeps sizes with its names may add them up there, and
   * counts content shared by several names once per name. Local: walks the
   * tree (`.dfos` included), symlinks not followed. Object store: one sum
   * in SQL.
   */
  usage(): Promise<number>;
  /**
   * Opens the user's change journal, kept beside their files. One process
   * holds it at a time: the server opens it once and shares it between the
   * user's sessions, then closes it.
   *
   * Backends: one writer at a time across everything that serves the user.
   * Local: an SQLite file in `.dfos`, locked by the process holding it.
   * Object store: tables in PostgreSQL, each change written by the
   * transaction that makes it, so that every node may write.
   */
  openJournal(): Promise<Journal>;
}

/** A failure a client caused or should hear about, with its protocol status. */
export class StorageError extends Error {
  constructor(readonly code: StatusCode, message: string) {
    super(message);
    this.name = "StorageError";
  }
}
