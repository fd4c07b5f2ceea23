/**
 * {@link Storage} on an object store: one user's names, folders, sizes,
 * times and SHA-256 in PostgreSQL (ObjectMetadata, src/database/), their
 * contents in immutable objects of the store, each under a random key below
 * the store's prefix. How each operation of the contract is done:
 *
 * - stat, lstat, list, canonicalPath: the metadata (no symbolic links: lstat
 *   is stat, canonicalPath changes no name); walk: one listing per folder
 *   (`walkByListing`), each one query read at one moment.
 * - mkdir, rmdir, remove, rename, setMtime: one transaction each; a rename of
 *   a whole folder is one statement, no object copied. A removed name's
 *   object stays until the collector (object_collector.ts) finds it unnamed.
 * - openRead: ranged, streamed GETs (object_read_handle.ts).
 * - writeFile: one PUT, or none when the user has an object of that content
 *   (object_whole_file.ts); uploads: multipart (object_upload.ts).
 * - partials: the upload records (object_partials.ts); usage: one SQL sum.
 * - openJournal: the PostgresJournal; each change is recorded by the
 *   metadata transaction that makes it, and noted so the server's feed does
 *   not record it twice (object_journal.ts).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { STATUS } from "../../protocol/status.ts";
import { ObjectMetadata } from "../../database/object_metadata.ts";
import { PostgresJournal } from "../../database/postgres_journal.ts";
import { UploadRecords } from "../../database/upload_records.ts";
import type { Journal } from "../journal.ts";
import {
  type CanonicalOptions,
  type DiscardResult,
  type EntryInfo,
  type LocatedEntry,
  type PartialListing,
  type PartialListOptions,
  type PartialSelection,
  type ReadHandle,
  type Storage,
  StorageError,
  type Upload,
  type UploadOptions,
  type WalkedEntry,
  type WholeFileOptions,
} from "../storage.ts";
import { walkByListing } from "../tree_walk.ts";
import { resolveVirtualPath, virtualParent } from "../virtual_path.ts";
import type { ObjectBackend } from "./object_backend.ts";
import { ObjectJournal } from "./object_journal.ts";
import {
  cleanupObjectPartials,
  discardObjectPartials,
  listObjectPartials,
} from "./object_partials.ts";
import { existingPaths, fileObject, usageOf } from "./object_queries.ts";
import { ObjectReadHandle } from "./object_read_handle.ts";
import { ObjectUpload } from "./object_upload.ts";
import {
  checkFileTarget,
  entryInfoOf,
  placeWholeFile,
  type UserObjects,
} from "./object_whole_file.ts";

/**
 * One user's files on the object store.
 *
 * @example
 * ```ts
 * const storage = await ObjectStorage.open(new ObjectBackend(database, store), "alice");
 * await storage.mkdir("/docs");
 * ```
 */
export class ObjectStorage implements Storage {
  readonly #objects: UserObjects;
  readonly #records: UploadRecords;

  private constructor(objects: UserObjects, records: UploadRecords) {
    this.#objects = objects;
    this.#records = records;
  }

  /** The storage of `user`, made (an empty root folder) if they have none yet. */
  static async open(backend: ObjectBackend, user: string): Promise<ObjectStorage> {
    const metadata = await ObjectMetadata.open(backend.database, user, { journal: true });
    const records = new UploadRecords(backend.database, metadata);
    return new ObjectStorage({ user, backend, metadata }, records);
  }

  get #metadata(): ObjectMetadata {
    return this.#objects.metadata;
  }

  async stat(path: string): Promise<EntryInfo> {
    return entryInfoOf(await this.#metadata.stat(resolveVirtualPath("/", path)));
  }

  /** As {@link stat}: there are no symbolic links here. */
  lstat(path: string): Promise<EntryInfo> {
    return this.stat(path);
  }

  /** The path itself (no links to resolve), once its folder is known to exist. */
  async canonicalPath(path: string, _options?: CanonicalOptions): Promise<string> {
    const virtual = resolveVirtualPath("/", path);
    if (virtual === "/") return virtual;
    const parent = virtualParent(virtual);
    const folder = await this.#metadata.stat(parent);
    if (folder.kind !== "directory") {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${virtual}: ${parent} is not a directory`);
    }
    return virtual;
  }

  /** {@link canonicalPath} and {@link lstat} (no links, so one name to look up). */
  async locateEntry(path: string): Promise<LocatedEntry> {
    const canonical = await this.canonicalPath(path);
    try {
      return { path: canonical, entry: await this.lstat(canonical) };
    } catch (error) {
      if (error instanceof StorageError && error.code === STATUS.NOT_FOUND) {
        return { path: canonical, entry: null };
      }
      throw error;
    }
  }

  async list(path: string): Promise<EntryInfo[]> {
    return (await this.#metadata.list(resolveVirtualPath("/", path))).map(entryInfoOf);
  }

  /** One listing per folder; a missing top folder is NOT_FOUND, a file NOT_A_DIRECTORY. */
  async *walk(folder: string): AsyncGenerator<WalkedEntry> {
    const virtual = resolveVirtualPath("/", folder);
    if ((await this.#metadata.stat(virtual)).kind !== "directory") {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${virtual}: not a directory`);
    }
    yield* walkByListing(this, virtual);
  }

  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    const virtual = resolveVirtualPath("/", path);
    const chain = options.parents ? foldersDownTo(virtual) : [virtual];
    const before = options.parents
      ? await existingPaths(this.#objects.backend.database, this.#objects.user, chain)
      : new Set<string>();
    await this.#metadata.mkdir(virtual, options);
    for (const folder of chain) if (!before.has(folder)) this.#note("put", folder);
  }

  async rmdir(path: string): Promise<void> {
    const virtual = resolveVirtualPath("/", path);
    await this.#metadata.rmdir(virtual);
    this.#note("delete", virtual);
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const virtual = resolveVirtualPath("/", path);
    await this.#metadata.remove(virtual, options);
    this.#note("delete", virtual);
  }

  /** One transaction, a whole folder included: names move, no object is copied. */
  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const source = resolveVirtualPath("/", from);
    const target = resolveVirtualPath("/", to);
    if (source === "/" || target === "/") {
      throw new StorageError(
        STATUS.PERMISSION_DENIED,
        "/: the root of your storage cannot be removed or moved",
      );
    }
    await this.#metadata.rename(source, target, options);
    if (source !== target) this.#note("rename", target, source);
  }

  async setMtime(path: string, mtimeMs: number): Promise<void> {
    const virtual = resolveVirtualPath("/", path);
    checkTimes(virtual, 0, mtimeMs);
    await this.#metadata.setMtime(virtual, mtimeMs);
    if (virtual !== "/") this.#note("put", virtual);
  }

  async openRead(path: string): Promise<ReadHandle> {
    const virtual = resolveVirtualPath("/", path);
    const found = await fileObject(this.#objects.backend.database, this.#objects.user, virtual);
    if (found === undefined) {
      throw new StorageError(STATUS.NOT_FOUND, `${virtual}: no such file or directory`);
    }
    if (found.key === null) {
      throw new StorageError(STATUS.IS_A_DIRECTORY, `${virtual}: is a directory`);
    }
    return new ObjectReadHandle(this.#objects.backend.store, {
      path: virtual,
      ...found,
      key: found.key,
    });
  }

  async beginUpload(path: string, options: UploadOptions): Promise<Upload> {
    const virtual = resolveVirtualPath("/", path);
    checkTimes(virtual, options.size, options.mtimeMs);
    const overwrite = options.overwrite ?? false;
    await checkFileTarget(this.#objects, virtual, overwrite);
    return await ObjectUpload.open({
      objects: this.#objects,
      records: this.#records,
      path: virtual,
      size: options.size,
      mtimeMs: options.mtimeMs,
      overwrite,
      resume: options.resume ?? true,
    });
  }

  async writeFile(
    path: string,
    content: Uint8Array,
    options: WholeFileOptions,
  ): Promise<EntryInfo> {
    const virtual = resolveVirtualPath("/", path);
    if (virtual === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    checkTimes(virtual, content.length, options.mtimeMs);
    const sha256 = createHash("sha256").update(content).digest("hex");
    if (sha256 !== options.sha256Hex.toLowerCase()) {
      throw new StorageError(
        STATUS.CHECKSUM_MISMATCH,
        `${virtual}: the bytes received do not match the announced SHA-256`,
      );
    }
    const overwrite = options.overwrite ?? false;
    await checkFileTarget(this.#objects, virtual, overwrite);
    return await placeWholeFile(this.#objects, {
      path: virtual,
      content,
      sha256,
      mtimeMs: options.mtimeMs,
      overwrite,
      guard: options.guard ?? ((place) => place()),
    });
  }

  cleanupPartials(maxAgeMs: number): Promise<number> {
    return cleanupObjectPartials(this.#objects, this.#records, maxAgeMs);
  }

  listPartials(options?: PartialListOptions): Promise<PartialListing> {
    return listObjectPartials(this.#objects, options);
  }

  discardPartials(selection: PartialSelection): Promise<DiscardResult> {
    return discardObjectPartials(this.#objects, this.#records, selection);
  }

  /** Nothing is put off here (see {@link Storage.tidy}). */
  tidy(): Promise<void> {
    return Promise.resolve();
  }

  /** The sum, in SQL, of the sizes the user's names, parts and tails hold. */
  usage(): Promise<number> {
    return usageOf(this.#objects.backend.database, this.#objects.user);
  }

  /** The user's journal in PostgreSQL, shared by every node (see object_journal.ts). */
  async openJournal(): Promise<Journal> {
    const { backend, user } = this.#objects;
    return new ObjectJournal(
      await PostgresJournal.open(backend.database, user),
      backend.ledger(user),
      (onMoved) => backend.journalSignal.subscribe(user, onMoved),
    );
  }

  #note(op: "put" | "delete" | "rename", path: string, from?: string): void {
    this.#objects.backend.ledger(this.#objects.user).note(op, path, from);
  }
}

/** Every folder from the top down to `path` itself, the root left out. */
function foldersDownTo(path: string): string[] {
  const folders: string[] = [];
  for (let folder = path; folder !== "/"; folder = virtualParent(folder)) folders.unshift(folder);
  return folders;
}

/** Refuses a size or time that is not a whole number >= 0, as the local backend does. */
function checkTimes(path: string, size: number, mtimeMs: number): void {
  for (const [field, value] of [["size", size], ["mtimeMs", mtimeMs]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StorageError(
        STATUS.BAD_REQUEST,
        `${path}: ${field} must be a non-negative integer, not ${value}`,
      );
    }
  }
}
