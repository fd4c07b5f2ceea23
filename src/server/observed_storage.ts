/**
 * A session's storage as its handlers see it: the backend's, with every
 * change of the tree made under the user's commit lock and published to
 * the change feed with the path it changed (canonical), what is there now,
 * and for uploads the SHA-256 they were verified against. The conditional
 * requests of sync (PROTOCOL.md §5.9) are here too: each checks its
 * condition and commits under the same lock, so no other session of the
 * user changes the path in between.
 *
 * @module
 */

import { WriteSlots } from "./write_slots.ts";
import { STATUS } from "../protocol/status.ts";
import {
  type CanonicalOptions,
  type DiscardResult,
  type EntryInfo,
  type LocatedEntry,
  type PartialListing,
  type PartialListOptions,
  type PartialSelection,
  type PlacementGuard,
  type ReadHandle,
  type Storage,
  type StorageBatch,
  StorageError,
  type Upload,
  type UploadOptions,
  type WalkedEntry,
  type WholeFileOptions,
} from "../storage/storage.ts";
import type { Journal } from "../storage/journal.ts";
import { virtualParent } from "../storage/virtual_path.ts";
import type { ChangeFeed, TreeChange } from "./change_feed.ts";
import { checkExpected, conflict, type Expected } from "./conditions.ts";
import type { TreeIndex } from "./tree_index.ts";

/** What a session's storage reports its changes with. */
export interface ObservedStorageOptions {
  index: TreeIndex;
  feed: ChangeFeed;
  user: string;
  sessionId: string;
}

/** A condition on an upload's target: absent (a new file) or a file with a given hash. */
export type UploadCondition = { expected?: Expected };

/** The backend's storage, every change of it locked, recorded and published. */
export class ObservedStorage implements Storage {
  readonly #inner: Storage;
  readonly #index: TreeIndex;
  readonly #feed: ChangeFeed;
  readonly #user: string;
  readonly #sessionId: string;
  readonly #writing = new WriteSlots();

  constructor(inner: Storage, options: ObservedStorageOptions) {
    this.#inner = inner;
    this.#index = options.index;
    this.#feed = options.feed;
    this.#user = options.user;
    this.#sessionId = options.sessionId;
  }

  stat = (path: string): Promise<EntryInfo> => this.#inner.stat(path);
  lstat = (path: string): Promise<EntryInfo> => this.#inner.lstat(path);
  canonicalPath = (path: string, options?: CanonicalOptions) =>
    this.#inner.canonicalPath(path, options);
  locateEntry = (path: string, options?: { batch?: StorageBatch }): Promise<LocatedEntry> =>
    this.#inner.locateEntry(path, options);
  list = (path: string): Promise<EntryInfo[]> => this.#inner.list(path);
  walk = (folder: string): AsyncIterable<WalkedEntry> => this.#inner.walk(folder);
  openRead = (path: string, options?: { batch?: StorageBatch }): Promise<ReadHandle> =>
    this.#inner.openRead(path, options);
  cleanupPartials = (maxAgeMs: number): Promise<number> => this.#inner.cleanupPartials(maxAgeMs);
  listPartials = (options?: PartialListOptions): Promise<PartialListing> =>
    this.#inner.listPartials(options);
  discardPartials = (selection: PartialSelection): Promise<DiscardResult> =>
    this.#inner.discardPartials(selection);
  usage = (): Promise<number> => this.#inner.usage();
  tidy = (): Promise<void> => this.#inner.tidy();
  batch = (): StorageBatch => this.#inner.batch?.() ?? { [Symbol.dispose]: () => {} };
  openJournal = (): Promise<Journal> => this.#index.journal();

  mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    return this.#index.locked(async () => {
      const made = options.parents ? await this.#missingFolders(path) : 1;
      await this.#inner.mkdir(path, options);
      if (made === 0) return;
      const names = (await this.#canonical(path)).split("/").filter((name) => name !== "");
      for (let depth = names.length - made + 1; depth <= names.length; depth++) {
        const folder = `/${names.slice(0, depth).join("/")}`;
        const { mtimeMs } = await this.#inner.lstat(folder);
        await this.#publish({
          op: "mkdir",
          path: folder,
          entry: { kind: "directory", size: 0, mtimeMs },
        });
      }
    });
  }

  rmdir(path: string): Promise<void> {
    return this.#index.locked(async () => {
      await this.#inner.rmdir(path);
      await this.#publish({ op: "delete", path: await this.#canonical(path) });
    });
  }

  remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    return this.#index.locked(async () => {
      await this.#inner.remove(path, options);
      await this.#publish({ op: "delete", path: await this.#canonical(path) });
    });
  }

  rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    return this.#index.locked(async () => {
      await this.#inner.rename(from, to, options);
      await this.#publishRename(from, to);
    });
  }

  /** Sets the mtime, keeping the hash the index has of a file whose content it knows. */
  setMtime(path: string, mtimeMs: number): Promise<void> {
    return this.#index.locked(async () => {
      const target = await this.#canonical(path, { followLast: true });
      const before = await this.#index.reconcile(target).catch(() => null);
      await this.#inner.setMtime(path, mtimeMs);
      const after = await this.#inner.lstat(target);
      if (after.kind !== "file" && after.kind !== "directory") return;
      const known = before?.indexed;
      const sha256 = known?.kind === "file" && known.size === after.size ? known.sha256 : undefined;
      const entry = { kind: after.kind, size: after.size, mtimeMs: after.mtimeMs, sha256 };
      await this.#publish({ op: "set-mtime", path: target, entry });
    });
  }

  /** Starts an upload; with `expected`, only if the target is (and at commit still is) so. */
  async beginUpload(path: string, options: UploadOptions & UploadCondition): Promise<Upload> {
    const { expected, ...rest } = options;
    if (expected !== undefined) await this.#precheck(path, expected);
    const overwrite = expected === undefined ? rest.overwrite : expected.kind === "file";
    const upload = await this.#refusing(
      expected,
      this.#inner.beginUpload(path, { ...rest, overwrite }),
    );
    return {
      offset: upload.offset,
      write: (chunk) => upload.write(chunk),
      abort: (keepPartial) => upload.abort(keepPartial),
      commit: (sha256Hex) =>
        upload.commit(sha256Hex, { guard: this.#placement(path, sha256Hex, { expected }) }),
    };
  }

  /**
   * Stores a small file; with `expected`, only if the target is still so
   * (checked as it is put in place: its bytes are here already, and a
   * condition that fails is rare); with `turn`, put under its name only once
   * that has resolved. It holds one of the session's write slots
   * (write_slots.ts) until its bytes are written and synced.
   */
  async writeFile(
    path: string,
    content: Uint8Array,
    options: WholeFileOptions & UploadCondition & { turn?: Promise<void> },
  ): Promise<EntryInfo> {
    const { expected, turn, ...rest } = options;
    if (expected?.kind === "directory") throw badCondition(path, "write");
    const overwrite = expected === undefined ? rest.overwrite : expected.kind === "file";
    const written = await this.#writing.acquire();
    const guard = this.#placement(path, rest.sha256Hex, {
      expected,
      turn,
      batch: rest.batch,
      written,
    });
    try {
      return await this.#refusing(
        expected,
        this.#inner.writeFile(path, content, { ...rest, overwrite, guard }),
      );
    } catch (error) {
      written(); // Before waiting for the lock: nothing more is written.
      const refused = error instanceof StorageError && error.code !== STATUS.CONFLICT;
      // Refused before its condition was checked (a folder at the path, say): the condition
      // speaks first, as it would have before the bytes were written.
      if (expected !== undefined && refused) {
        await this.#index.locked(() => this.#check(path, expected, rest.batch));
      }
      throw error;
    } finally {
      written();
    }
  }

  /** Removes a file with the expected hash, or an empty folder, if it is still there as expected. */
  removeIf(path: string, expected: Expected): Promise<void> {
    if (expected.kind === "absent") return Promise.reject(badCondition(path, "remove"));
    return this.#index.locked(async () => {
      const { path: target, entry } = await this.#inner.locateEntry(path);
      await checkExpected(this.#index, target, expected, path, entry);
      if (expected.kind === "directory") await this.#inner.rmdir(path);
      else await this.#inner.remove(path);
      await this.#publish({ op: "delete", path: target });
    });
  }

  /** Renames `from`, if it is still as expected, to `to`, if nothing is there. */
  renameIf(from: string, to: string, expected: Expected): Promise<void> {
    if (expected.kind === "absent") return Promise.reject(badCondition(from, "rename"));
    return this.#index.locked(async () => {
      await this.#check(from, expected);
      await this.#check(to, { kind: "absent" });
      await this.#refusing({ kind: "absent" }, this.#inner.rename(from, to));
      await this.#publishRename(from, to);
    });
  }

  /**
   * The guard of an upload's placement: locked, its condition checked (the
   * target looked up once, with the request's `batch`), its change published.
   */
  #placement(
    path: string,
    sha256Hex: string,
    how: { expected?: Expected; turn?: Promise<void>; batch?: StorageBatch; written?: () => void },
  ): PlacementGuard {
    const { expected, turn, batch, written } = how;
    return async (place) => {
      written?.(); // The bytes are stored: what holds a slot for them no longer needs it.
      await turn; // In the order the requests came: what clients see stays in their order.
      return await this.#index.locked(async () => {
        if (expected !== undefined) await this.#check(path, expected, batch);
        const placed = await this.#refusing(expected, place());
        const { size, mtimeMs } = placed.entry;
        const sha256 = sha256Hex.toLowerCase();
        const target = placed.path;
        await this.#publish({
          op: "write",
          path: target,
          entry: { kind: "file", size, mtimeMs, sha256 },
        });
        return placed;
      });
    };
  }

  /** Checks a condition before an upload begins, so a doomed one sends no bytes. */
  #precheck(path: string, expected: Expected): Promise<void> {
    if (expected.kind === "directory") return Promise.reject(badCondition(path, "write"));
    return this.#index.locked(() => this.#check(path, expected));
  }

  /** {@link checkExpected} of `path` (looked up once, with `batch`). Call with the lock held. */
  async #check(path: string, expected: Expected, batch?: StorageBatch): Promise<void> {
    const { path: target, entry } = await this.#inner.locateEntry(path, { batch });
    await checkExpected(this.#index, target, expected, path, entry);
  }

  /** `work`, with EXISTS read as CONFLICT where the condition was "absent". */
  async #refusing<T>(expected: Expected | undefined, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      const appeared = error instanceof StorageError && error.code === STATUS.EXISTS;
      if (appeared && expected?.kind === "absent") {
        throw conflict(`${error.message} (expected nothing)`);
      }
      throw error;
    }
  }

  async #publishRename(from: string, to: string): Promise<void> {
    const source = await this.#canonical(from);
    const target = await this.#canonical(to);
    if (source === target) return;
    await this.#publish({ op: "rename", path: target, from: source });
  }

  /** How many folders at the end of `path` are missing (what `mkdir -p` will make). */
  async #missingFolders(path: string): Promise<number> {
    let missing = 0;
    for (let folder = path; folder !== "/"; folder = virtualParent(folder)) {
      try {
        await this.#inner.lstat(folder);
        break;
      } catch (error) {
        if (!(error instanceof StorageError && error.code === STATUS.NOT_FOUND)) break;
        missing++;
      }
    }
    return missing;
  }

  /** The canonical path of `path`, or `path` itself if it cannot be worked out now. */
  async #canonical(path: string, options?: CanonicalOptions): Promise<string> {
    return await this.#inner.canonicalPath(path, options).catch(() => path);
  }

  #publish(change: Omit<TreeChange, "user" | "sessionId">): Promise<void> {
    return this.#feed.publish({ ...change, user: this.#user, sessionId: this.#sessionId });
  }
}

function badCondition(path: string, what: string): StorageError {
  return new StorageError(STATUS.BAD_REQUEST, `${path}: cannot ${what} on that condition`);
}
