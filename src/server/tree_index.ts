/**
 * The journal's index held up against the files themselves. Files can be
 * changed behind the server's back (directly on its disk); such a change
 * must never be mistaken for the version the index knows, or a sync would
 * overwrite it. So whenever the server touches a path for sync (a condition
 * checks it, `ListTree` lists it, or the journal opens and the whole tree
 * is compared), it compares size and modification time (kind, for folders)
 * with the index, and records any difference as a change found on disk,
 * without a hash. A file's hash is computed when it is needed (a listing, a
 * condition, a change handed out) and remembered.
 *
 * Recording happens under the user's commit lock, after looking again: a
 * difference seen outside it may be a change another session was committing.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { STATUS } from "../protocol/status.ts";
import type { IndexedEntry, Journal, JournalChange } from "../storage/journal.ts";
import {
  type EntryInfo,
  type Storage,
  StorageError,
  type WalkedEntry,
} from "../storage/storage.ts";
import { compareCodePoints } from "../storage/tree_walk.ts";
import type { ChangeFeed } from "./change_feed.ts";
import type { UserJournal } from "./user_journals.ts";

/** Index entries read at a time while comparing a tree. */
const INDEX_PAGE = 1024;
/** Bytes read at a time while hashing a file. */
const HASH_CHUNK_BYTES = 256 * 1024;

/** What a path holds, as a condition compares it. */
export interface PathState {
  kind: "absent" | "file" | "directory" | "other";
  /** Lowercase hex, for a file. */
  sha256?: string;
}

/** A file's hash and the size and mtime it was taken at. */
interface Hashed {
  sha256: string;
  size: number;
  mtimeMs: number;
}

/** Told of each entry of a compared tree, with the file's hash when hashes were asked for. */
export type TreeVisitor = (path: string, entry: EntryInfo, sha256?: string) => Promise<void>;

/** Options of {@link TreeIndex.compareTree}. */
export interface CompareTreeOptions {
  /** Told of every entry under the folder, in path order. */
  visit?: TreeVisitor;
  /** Hash the files whose hash the index does not have. Default false. */
  hashes?: boolean;
  /** Stops the walk between entries. */
  signal?: AbortSignal;
}

/** One user's index, as one session (or the opening scan) uses it. */
export class TreeIndex {
  readonly #storage: Storage;
  readonly #shared: UserJournal;
  readonly #feed: ChangeFeed;
  /** Changes found on disk (made behind the server's back) so far. */
  #foundCount = 0;

  constructor(storage: Storage, shared: UserJournal, feed: ChangeFeed) {
    this.#storage = storage;
    this.#shared = shared;
    this.#feed = feed;
  }

  /** The user's journal (opened on first use). */
  journal(): Promise<Journal> {
    return this.#shared.journal();
  }

  /** Resolves once the journal is open and the tree was compared with it (see UserJournal). */
  ready(): Promise<void> {
    return this.#shared.ready();
  }

  /** Runs `work` under the user's commit lock. */
  locked<T>(work: () => Promise<T>): Promise<T> {
    return this.#shared.lock.run(work);
  }

  /**
   * Compares `path` with the index and records a difference. Call with the
   * commit lock held. Resolves to the path's entry (null if nothing is
   * there) and what the index now says of it. `known`: the entry as just
   * looked up under the lock (else it is looked up here).
   */
  async reconcile(
    path: string,
    known?: EntryInfo | null,
  ): Promise<{ entry: EntryInfo | null; indexed?: IndexedEntry }> {
    const journal = await this.journal();
    const entry = known === undefined ? await this.#lstat(path) : known;
    const indexed = await journal.lookup(path);
    if (agrees(entry, indexed)) return { entry, indexed };
    if (entry === null || !indexable(entry)) {
      if (indexed !== undefined) await this.#found({ op: "delete", path });
      return { entry };
    }
    const found = { kind: entry.kind, size: entry.size, mtimeMs: entry.mtimeMs };
    await this.#found({ op: entry.kind === "file" ? "write" : "mkdir", path, entry: found });
    return { entry, indexed: found };
  }

  /** {@link reconcile} under the commit lock. */
  touch(path: string): Promise<{ entry: EntryInfo | null; indexed?: IndexedEntry }> {
    return this.locked(() => this.reconcile(path));
  }

  /**
   * What `path` holds, a file with its hash if `hashed`; `known` as for
   * {@link reconcile}. Call with the commit lock held.
   */
  async stateOf(path: string, hashed: boolean, known?: EntryInfo | null): Promise<PathState> {
    const { entry, indexed } = await this.reconcile(path, known);
    if (entry === null) return { kind: "absent" };
    if (entry.kind === "directory") return { kind: "directory" };
    if (entry.kind !== "file") return { kind: "other" };
    if (!hashed) return { kind: "file" };
    if (indexed?.sha256 !== undefined) return { kind: "file", sha256: indexed.sha256 };
    const found = await hashStoredFile(this.#storage, path);
    await this.#remember(path, found);
    return { kind: "file", sha256: found.sha256 };
  }

  /**
   * Walks the tree under `folder` beside the index and records every
   * difference (files and folders found, changed or gone), telling
   * `visit` of each entry on the way. `folder` itself is not compared.
   * Resolves to the number of differences recorded.
   */
  async compareTree(folder: string, options: CompareTreeOptions = {}): Promise<number> {
    const foundBefore = this.#foundCount;
    const index = new IndexPages(await this.journal(), folder);
    const disk = this.#storage.walk(folder)[Symbol.asyncIterator]();
    try {
      await this.#merge(disk, index, options);
    } finally {
      await disk.return?.(); // The walk lets go of what it holds, however the comparison ended.
    }
    return this.#foundCount - foundBefore;
  }

  /** Reads the walk and the index side by side, in path order, touching where they differ. */
  async #merge(disk: AsyncIterator<WalkedEntry>, index: IndexPages, options: CompareTreeOptions) {
    let walked = await disk.next();
    let indexed = await index.next();
    let gone: string | null = null; // A path found gone: the journal dropped what was inside it.
    while (!walked.done || indexed !== null) {
      if (options.signal?.aborted) return;
      const order = walked.done
        ? 1
        : indexed === null
        ? -1
        : compareCodePoints(walked.value.path, indexed[0]);
      if (order > 0) {
        // Only in the index: gone, unless it came back meanwhile.
        const path = indexed![0];
        if (gone === null || !path.startsWith(`${gone}/`)) {
          gone = (await this.touch(path)).entry === null ? path : null;
        }
        indexed = await index.next();
        continue;
      }
      const { path } = walked.value!;
      let entry: EntryInfo | null = walked.value!.entry;
      let known = order === 0 ? indexed![1] : undefined;
      if (order === 0) indexed = await index.next();
      if (!agrees(entry, known)) ({ entry, indexed: known } = await this.touch(path));
      if (entry !== null) await this.#visit(path, entry, known, options);
      walked = await disk.next();
    }
  }

  /** Fills in the hashes of files found changed on disk, where the file is still as found. */
  async fillHashes(changes: JournalChange[]): Promise<void> {
    const journal = await this.journal();
    for (const change of changes) {
      if (change.op !== "put" || change.sha256 !== undefined) continue;
      const indexed = await journal.lookup(change.path);
      const same = indexed?.kind === "file" && indexed.size === change.size &&
        indexed.mtimeMs === change.mtimeMs;
      if (!same) continue; // A later change says what it is now.
      const hashed = await hashStoredFile(this.#storage, change.path).catch(() => null);
      if (hashed === null || hashed.size !== change.size || hashed.mtimeMs !== change.mtimeMs) {
        continue;
      }
      if (await this.locked(() => this.#remember(change.path, hashed))) {
        change.sha256 = hashed.sha256;
      }
    }
  }

  /** One walked entry, as the index now knows it (`known`): hashed if asked, then visited. */
  async #visit(
    path: string,
    entry: EntryInfo,
    known: IndexedEntry | undefined,
    options: CompareTreeOptions,
  ): Promise<void> {
    if (entry.kind !== "file" || !options.hashes) return await options.visit?.(path, entry);
    if (
      known?.sha256 !== undefined && known.size === entry.size && known.mtimeMs === entry.mtimeMs
    ) {
      return await options.visit?.(path, entry, known.sha256);
    }
    const hashed = await hashStoredFile(this.#storage, path).catch(() => null);
    if (hashed === null) {
      // Gone meanwhile: not listed. There but unreadable: listed without a hash.
      if ((await this.#lstat(path))?.kind === "file") await options.visit?.(path, entry);
      return;
    }
    await this.locked(() => this.#remember(path, hashed));
    const seen = { ...entry, size: hashed.size, mtimeMs: hashed.mtimeMs };
    await options.visit?.(path, seen, hashed.sha256);
  }

  /**
   * Stores a hash taken of `path` if the file is still as hashed: in the
   * index, or as a change found on disk if the index knew it otherwise.
   * Call with the commit lock held; false if the file has moved on.
   */
  async #remember(path: string, hashed: Hashed): Promise<boolean> {
    const entry = await this.#lstat(path);
    const still = entry?.kind === "file" && entry.size === hashed.size &&
      entry.mtimeMs === hashed.mtimeMs;
    if (!still) return false;
    const journal = await this.journal();
    const known = { kind: "file", ...hashed } as const;
    if (await journal.rememberHash(path, known)) return true;
    await this.#found({ op: "write", path, entry: known });
    return true;
  }

  /** Publishes a change found on disk (no session made it). */
  async #found(change: { op: "write" | "mkdir" | "delete"; path: string; entry?: IndexedEntry }) {
    this.#foundCount++;
    await this.#feed.publish({ user: this.#shared.user, ...change });
  }

  async #lstat(path: string): Promise<EntryInfo | null> {
    try {
      return await this.#storage.lstat(path);
    } catch (error) {
      if (error instanceof StorageError && error.code === STATUS.NOT_FOUND) return null;
      throw error;
    }
  }
}

/** Whether the index can hold `entry` (links and special files it leaves out). */
function indexable(entry: EntryInfo): entry is EntryInfo & { kind: "file" | "directory" } {
  return entry.kind === "file" || entry.kind === "directory";
}

/** Whether the index agrees with what is there: a folder by kind, a file by size and mtime. */
function agrees(entry: EntryInfo | null, indexed: IndexedEntry | undefined): boolean {
  if (entry === null || !indexable(entry)) return indexed === undefined;
  if (indexed === undefined || indexed.kind !== entry.kind) return false;
  return entry.kind === "directory" ||
    (indexed.size === entry.size && indexed.mtimeMs === entry.mtimeMs);
}

/** The index entries inside a folder, read page by page in path order. */
class IndexPages {
  #page: [string, IndexedEntry][] = [];
  #next = 0;
  #after: string | null = null;
  #done = false;

  constructor(readonly journal: Journal, readonly folder: string) {}

  async next(): Promise<[string, IndexedEntry] | null> {
    if (this.#next === this.#page.length) {
      if (this.#done) return null;
      this.#page = await this.journal.entriesAfter(this.folder, this.#after, INDEX_PAGE);
      this.#next = 0;
      this.#done = this.#page.length < INDEX_PAGE;
      if (this.#page.length === 0) return null;
      this.#after = this.#page.at(-1)![0];
    }
    return this.#page[this.#next++];
  }
}

/** Reads the file at `path` whole and hashes it, with the size and mtime it had when opened. */
export async function hashStoredFile(storage: Storage, path: string): Promise<Hashed> {
  const handle = await storage.openRead(path);
  try {
    const hash = createHash("sha256");
    // Small files (most of a tree) get a small buffer: one read, and little garbage.
    const buffer = new Uint8Array(Math.min(Math.max(handle.size + 1, 4096), HASH_CHUNK_BYTES));
    for (let position = 0;;) {
      const count = await handle.read(buffer, position);
      if (count === null || count === 0) break;
      hash.update(buffer.subarray(0, count));
      position += count;
    }
    return { sha256: hash.digest("hex"), size: handle.size, mtimeMs: handle.mtimeMs };
  } finally {
    handle.close();
  }
}
