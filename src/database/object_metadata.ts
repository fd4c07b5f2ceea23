/**
 * The metadata of one user's files on the object-store backend: names,
 * folders, sizes, times and SHA-256 in PostgreSQL, contents in immutable
 * objects named by id. Every operation is one transaction, so a rename of a
 * whole folder is one metadata change that no listing ever sees half done,
 * and several nodes may serve the user at once.
 *
 * The invariant: a name never points to a missing object. An object is
 * recorded `pending` before its bytes are stored (object_records.ts), made
 * `stored` after, and only a stored one is given a name ({@link placeFile});
 * removing a name leaves its object to the collector.
 *
 * With `journal`, every change is also recorded in the user's change journal
 * in the same transaction (journal_records.ts): both happen or neither.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { StorageError } from "../storage/storage.ts";
import type { Database, TransactionSql } from "./database.ts";
import {
  deleteTree,
  entryOfRow,
  type EntryRow,
  hasChildren,
  insertEntry,
  lockEntries,
  type MetadataEntry,
  moveTree,
  notFound,
  requireFolder,
  touchFolders,
} from "./entry_records.ts";
import { ensureStorageUser, recordDelete, recordPut, recordRename } from "./journal_records.ts";
import { ancestorsOf, checkPath, checkWhole, nameOf, parentOf } from "./metadata_paths.ts";
import {
  lockStoredObject,
  markObjectStored,
  type NewObject,
  type PlacedObject,
  preferOlderCopy,
  recordPendingObject,
} from "./object_records.ts";

export type { MetadataEntry } from "./entry_records.ts";

/** Options of {@link ObjectMetadata.open}. */
export interface ObjectMetadataOptions {
  /** Record every change in the user's change journal, in the same transaction. Default false. */
  journal?: boolean;
  /** The clock folder times come from, ms. Default `Date.now`. */
  now?: () => number;
}

/** Options of {@link ObjectMetadata.placeFile}. */
export interface PlaceOptions {
  /** The stored object holding the content. */
  objectId: number;
  mtimeMs: number;
  /** Replace a file of the same name (whose object then becomes garbage). Default false: EXISTS. */
  overwrite?: boolean;
  /** Name an older stored object of the same content instead, if there is one. Default true. */
  dedupe?: boolean;
  /**
   * The SHA-256 of `objectId` when it is still `pending` but its bytes are
   * all in the store: it is marked `stored` in the same transaction, just
   * before it is named (one transaction fewer than {@link ObjectMetadata.markStored}
   * and then this). Default: the object is `stored` already.
   */
  markStored?: string;
}

/** One user's names, folders and contents' records. */
export class ObjectMetadata {
  readonly user: string;
  readonly #database: Database;
  readonly #journal: boolean;
  readonly #now: () => number;

  private constructor(database: Database, user: string, options: ObjectMetadataOptions) {
    this.#database = database;
    this.user = user;
    this.#journal = options.journal ?? false;
    this.#now = options.now ?? Date.now;
  }

  /** The store of `user`, made with an empty root folder if the user has none yet. */
  static async open(
    database: Database,
    user: string,
    options: ObjectMetadataOptions = {},
  ): Promise<ObjectMetadata> {
    const metadata = new ObjectMetadata(database, user, options);
    await database.transaction((sql) => ensureStorageUser(sql, user, metadata.#now()));
    return metadata;
  }

  /** The entry at `path`; NOT_FOUND if none. */
  async stat(path: string): Promise<MetadataEntry> {
    checkPath(path);
    return await this.#database.run(async (sql) => {
      const [row] = await sql<EntryRow[]>`
        SELECT * FROM entries WHERE user_name = ${this.user} AND path = ${path}`;
      if (row === undefined) throw notFound(path);
      return entryOfRow(row);
    });
  }

  /** The entries of the folder `path`, by name in UTF-8 byte order, read at one moment. */
  async list(path: string): Promise<MetadataEntry[]> {
    checkPath(path);
    return await this.#database.transaction(async (sql) => {
      const rows = await sql<EntryRow[]>`
        SELECT * FROM entries WHERE user_name = ${this.user}
          AND (path = ${path} OR parent = ${path}) ORDER BY path = ${path} DESC, name`;
      if (rows[0]?.path !== path) throw notFound(path);
      if (rows[0].kind !== "directory") {
        throw new StorageError(STATUS.NOT_A_DIRECTORY, `${path}: not a directory`);
      }
      return rows.slice(1).map(entryOfRow);
    }, { isolation: "snapshot" });
  }

  /** Makes the folder `path`; with `parents`, missing parents too, and an existing folder is fine. */
  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    checkPath(path);
    const parents = options.parents ?? false;
    return await this.#write(async (sql) => {
      if (path === "/") {
        if (parents) return;
        throw new StorageError(STATUS.EXISTS, "/: already exists");
      }
      const chain = parents ? [...ancestorsOf(path).slice(1), path] : [path];
      for (const folder of chain) await this.#makeFolder(sql, folder, folder !== path, parents);
    });
  }

  /** Makes one folder; an `ancestor` of the one asked for must be a folder, and may exist. */
  async #makeFolder(
    sql: TransactionSql,
    path: string,
    ancestor: boolean,
    parents: boolean,
  ): Promise<void> {
    const parent = parentOf(path)!;
    const rows = await lockEntries(sql, this.user, [parent, path]);
    requireFolder(rows, parent, path);
    const existing = rows.get(path);
    if (existing?.kind === "directory" && (ancestor || parents)) return;
    if (existing !== undefined && ancestor) {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${path}: not a directory`);
    }
    const now = this.#now();
    const made = existing === undefined &&
      await insertEntry(sql, this.user, path, {
        kind: "directory",
        size: 0,
        mtime_ms: now,
        sha256: null,
        object_id: null,
      });
    if (!made) {
      // Made meanwhile by another transaction (a row not there yet cannot be locked): a folder is
      // what `mkdir -p` and an ancestor want; anything else is in the way.
      if (ancestor || parents) {
        const found = await lockEntries(sql, this.user, [path]);
        if (found.get(path)?.kind === "directory") return;
        if (ancestor) throw new StorageError(STATUS.NOT_A_DIRECTORY, `${path}: not a directory`);
      }
      throw new StorageError(STATUS.EXISTS, `${path}: already exists`);
    }
    await touchFolders(sql, this.user, [parent], now);
    if (this.#journal) {
      await recordPut(sql, this.user, path, { kind: "directory", size: 0, mtimeMs: now });
    }
  }

  /** Removes the empty folder `path`. */
  async rmdir(path: string): Promise<void> {
    checkPath(path);
    return await this.#write(async (sql) => {
      const row = await this.#lockRemovable(sql, path);
      if (row.kind !== "directory") {
        throw new StorageError(STATUS.NOT_A_DIRECTORY, `${path}: not a directory`);
      }
      if (await hasChildren(sql, this.user, path)) {
        throw new StorageError(STATUS.NOT_EMPTY, `${path}: the folder is not empty`);
      }
      await this.#removeNow(sql, path);
    });
  }

  /** Removes the file `path`, or with `recursive` a folder and everything in it. */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    return await this.#write(async (sql) => {
      const row = await this.#lockRemovable(sql, path);
      if (row.kind === "directory" && !options.recursive) {
        throw new StorageError(
          STATUS.IS_A_DIRECTORY,
          `${path}: is a directory; remove it recursively or with rmdir`,
        );
      }
      await this.#removeNow(sql, path);
    });
  }

  async #lockRemovable(sql: TransactionSql, path: string): Promise<EntryRow> {
    if (path === "/") throw new StorageError(STATUS.PERMISSION_DENIED, "/: the root stays");
    const rows = await lockEntries(sql, this.user, [parentOf(path)!, path]);
    const row = rows.get(path);
    if (row === undefined) throw notFound(path);
    return row;
  }

  async #removeNow(sql: TransactionSql, path: string): Promise<void> {
    await deleteTree(sql, this.user, path);
    await touchFolders(sql, this.user, [parentOf(path)], this.#now());
    if (this.#journal) await recordDelete(sql, this.user, path);
  }

  /**
   * Moves `from` (a file or a whole folder) to `to` in one transaction;
   * EXISTS if `to` exists unless `overwrite` (which, as rename(2), replaces
   * a file by a file or an empty folder by a folder).
   */
  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    checkPath(from);
    checkPath(to);
    return await this.#write(async (sql) => {
      if (from === "/") throw new StorageError(STATUS.PERMISSION_DENIED, "/: the root stays");
      if (to.startsWith(`${from}/`) || to === "/") {
        throw new StorageError(STATUS.BAD_REQUEST, `${from}: cannot be moved into itself (${to})`);
      }
      const rows = await lockEntries(sql, this.user, [parentOf(from)!, parentOf(to)!, from, to]);
      const source = rows.get(from);
      if (source === undefined) throw notFound(from);
      if (from === to) return;
      requireFolder(rows, parentOf(to)!, to);
      const target = rows.get(to);
      if (target !== undefined) await this.#replaceable(sql, source, target, options.overwrite);
      await moveTree(sql, this.user, from, to);
      await touchFolders(sql, this.user, [parentOf(from), parentOf(to)], this.#now());
      if (this.#journal) await recordRename(sql, this.user, from, to);
    });
  }

  /** Checks that `target` may be replaced by `source`, as rename(2) would, and removes it. */
  async #replaceable(
    sql: TransactionSql,
    source: EntryRow,
    target: EntryRow,
    overwrite = false,
  ): Promise<void> {
    const to = target.path;
    if (!overwrite) throw new StorageError(STATUS.EXISTS, `${to}: already exists`);
    if (source.kind === "file" && target.kind === "directory") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, `${to}: is a directory`);
    }
    if (source.kind === "directory" && target.kind === "file") {
      throw new StorageError(STATUS.NOT_A_DIRECTORY, `${to}: not a directory`);
    }
    if (target.kind === "directory" && await hasChildren(sql, this.user, to)) {
      throw new StorageError(STATUS.NOT_EMPTY, `${to}: the folder is not empty`);
    }
    await deleteTree(sql, this.user, to);
  }

  /** Gives a file or folder the modification time `mtimeMs`. */
  async setMtime(path: string, mtimeMs: number): Promise<void> {
    checkPath(path);
    checkWhole(mtimeMs, "a modification time");
    return await this.#write(async (sql) => {
      const [row] = await sql<EntryRow[]>`
        UPDATE entries SET mtime_ms = ${mtimeMs} WHERE user_name = ${this.user} AND path = ${path}
        RETURNING *`;
      if (row === undefined) throw notFound(path);
      if (this.#journal && path !== "/") {
        const { kind, size, sha256 } = entryOfRow(row);
        await recordPut(sql, this.user, path, { kind, size, mtimeMs, sha256 });
      }
    });
  }

  /** Bytes the user's names hold (content shared by several counted once per name), plus uploads'. */
  usage(): Promise<number> {
    return this.#database.transaction(async (sql) => {
      const [{ names }] = await sql<{ names: number }[]>`
        SELECT coalesce(sum(size), 0)::bigint AS names FROM entries
        WHERE user_name = ${this.user} AND kind = 'file'`;
      const [{ parts }] = await sql<{ parts: number }[]>`
        SELECT coalesce(sum(p.size), 0)::bigint AS parts FROM upload_parts p
        JOIN uploads u ON u.id = p.upload_id WHERE u.user_name = ${this.user}`;
      return names + parts;
    }, { isolation: "snapshot" });
  }

  /**
   * Puts a file under `path`, naming a stored object (or, with `dedupe`, an
   * older stored object of the same content). Resolves to the entry and the
   * object named; a file it replaced leaves its object to the collector.
   */
  async placeFile(
    path: string,
    options: PlaceOptions,
  ): Promise<PlacedObject & { entry: MetadataEntry }> {
    checkPath(path);
    checkWhole(options.mtimeMs, "a modification time");
    return await this.#write((sql) => this.placeFileIn(sql, path, options));
  }

  /** {@link placeFile} inside the caller's transaction (as an upload's completion does). */
  async placeFileIn(
    sql: TransactionSql,
    path: string,
    options: PlaceOptions,
  ): Promise<PlacedObject & { entry: MetadataEntry }> {
    if (path === "/") throw new StorageError(STATUS.IS_A_DIRECTORY, "/: is a directory");
    const offered = options.markStored === undefined
      ? await lockStoredObject(sql, this.user, options.objectId)
      : await markObjectStored(sql, this.user, options.objectId, options.markStored);
    const object = options.dedupe ?? true
      ? await preferOlderCopy(sql, this.user, offered)
      : { ...offered, deduplicated: false };
    const parent = parentOf(path)!;
    const rows = await lockEntries(sql, this.user, [parent, path]);
    requireFolder(rows, parent, path);
    const existing = rows.get(path);
    if (existing?.kind === "directory") {
      throw new StorageError(STATUS.IS_A_DIRECTORY, `${path}: is a directory`);
    }
    if (existing !== undefined && !options.overwrite) {
      throw new StorageError(STATUS.EXISTS, `${path}: already exists`);
    }
    const row = {
      kind: "file" as const,
      size: object.size,
      mtime_ms: options.mtimeMs,
      sha256: object.sha256,
      object_id: object.objectId,
    };
    if (existing !== undefined) await deleteTree(sql, this.user, path);
    if (!await insertEntry(sql, this.user, path, row)) {
      throw new StorageError(STATUS.EXISTS, `${path}: already exists`);
    }
    await touchFolders(sql, this.user, [parent], this.#now());
    const entry = entryOfRow({ ...row, path, parent, name: nameOf(path) });
    if (this.#journal) {
      await recordPut(sql, this.user, path, {
        kind: "file",
        size: object.size,
        mtimeMs: options.mtimeMs,
        sha256: object.sha256,
      });
    }
    return { ...object, entry };
  }

  /** Records a `pending` object before its bytes go to the store (one statement); resolves to its id. */
  async recordObject(object: NewObject): Promise<number> {
    return await this.#database.run((sql) => recordPendingObject(sql, this.user, object));
  }

  /** Marks a pending object `stored` once the store holds all its bytes. */
  async markStored(objectId: number, sha256: string): Promise<void> {
    await this.#write((sql) => markObjectStored(sql, this.user, objectId, sha256));
  }

  /** Runs a change in one transaction; a name another node made meanwhile is EXISTS. */
  #write<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T> {
    return this.#database.transaction(work);
  }
}
