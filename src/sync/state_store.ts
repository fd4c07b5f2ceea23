/**
 * What sync remembers between runs: for each folder pair (server, user,
 * remote folder, local folder), the state of every path on which both sides
 * last agreed. Kept in an embedded SQLite database (`node:sqlite`), by default
 * `~/.local/state/dfos/sync.db`.
 *
 * Every change is one transaction, so a crash leaves the state of some moment
 * between two syncs. Any such state is safe to sync from: a path whose
 * remembered state is older than both sides simply looks changed on both, and
 * two sides that hold the same content are settled without copying anything.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import type { BaseEntry, SyncEntry, SyncKind } from "./sync_entry.ts";
import { LISTED_KIND, type LocalListing } from "./local_listing.ts";

/** What {@link PairState.localChanges} found. */
export interface LocalChanges {
  /** The paths that changed locally since the state was written (new, gone, or changed). */
  paths: Set<string>;
  /** Files the state remembers. */
  files: number;
}

/** The columns of the remembered local side that the quick check needs ({@link PairState.localQuickCheck}). */
export interface RememberedQuickCheck {
  /** Per path: path, whether a file, size, mtime (ms), its part below a millisecond, inode. */
  readonly rows: readonly unknown[][];
}

/** Identifies a folder pair. */
export interface PairKey {
  /** The server's certificate fingerprint, or `host:port` without TLS. */
  server: string;
  user: string;
  /** Absolute remote folder. */
  remotePath: string;
  /** Absolute local folder. */
  localPath: string;
}

/** A change to the remembered state: remember `entry` at `path`, or forget the path. */
export interface StateChange {
  path: string;
  entry?: BaseEntry;
}

/** Where in the server's change journal the remembered state stands. */
export interface JournalCursor {
  journalId: string;
  sequence: number;
}

/**
 * A run found both sides exactly as remembered, the remote tree at `cursor`
 * and the folder under the ignore rules whose digest is `rules`.
 */
export interface InStepMark {
  cursor: JournalCursor;
  rules: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS pairs (
    id INTEGER PRIMARY KEY,
    server TEXT NOT NULL, user TEXT NOT NULL, remote_path TEXT NOT NULL, local_path TEXT NOT NULL,
    journal_id TEXT, journal_sequence INTEGER,
    UNIQUE (server, user, remote_path, local_path)
  );
  CREATE TABLE IF NOT EXISTS entries (
    pair INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'directory')),
    size INTEGER NOT NULL,
    sha256 TEXT,
    local_mtime_ns INTEGER NOT NULL,
    local_inode INTEGER,
    remote_mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (pair, path)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS remote_entries (
    pair INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'directory')),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    PRIMARY KEY (pair, path)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS in_step (
    pair INTEGER PRIMARY KEY REFERENCES pairs(id) ON DELETE CASCADE,
    journal_id TEXT NOT NULL, journal_sequence INTEGER NOT NULL, rules TEXT NOT NULL
  );
`;

/** The default database file: `$XDG_STATE_HOME/dfos/sync.db`, else `~/.local/state/dfos/sync.db`. */
export function defaultStatePath(): string {
  const stateHome = Deno.env.get("XDG_STATE_HOME") ||
    join(Deno.env.get("HOME") ?? ".", ".local", "state");
  return join(stateHome, "dfos", "sync.db");
}

/** The database of remembered sync states. */
export class SyncStateStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed, mode 0600 in a folder of mode 0700) the database at `path`. */
  static open(path: string): SyncStateStore {
    const folder = path.slice(0, path.lastIndexOf("/"));
    if (folder !== "") Deno.mkdirSync(folder, { recursive: true, mode: 0o700 });
    Deno.writeFileSync(path, new Uint8Array(), { append: true, mode: 0o600 });
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    db.exec("PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    return new SyncStateStore(db);
  }

  /** The remembered state of one folder pair (empty the first time). */
  pair(key: PairKey): PairState {
    const find = this.#db.prepare(
      "SELECT id FROM pairs WHERE server = ? AND user = ? AND remote_path = ? AND local_path = ?",
    );
    const values = [key.server, key.user, key.remotePath, key.localPath] as const;
    let row = find.get(...values) as { id: number } | undefined;
    if (row === undefined) {
      this.#db.prepare(
        "INSERT INTO pairs (server, user, remote_path, local_path) VALUES (?, ?, ?, ?)",
      ).run(...values);
      row = find.get(...values) as { id: number };
    }
    return new PairState(this.#db, row.id);
  }

  close(): void {
    this.#db.close();
  }
}

/** One folder pair's remembered paths. */
export class PairState {
  readonly #db: DatabaseSync;
  readonly #pair: number;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #upsertRemote: StatementSync;
  readonly #removeRemote: StatementSync;

  constructor(db: DatabaseSync, pair: number) {
    this.#db = db;
    this.#pair = pair;
    this.#upsert = db.prepare(
      `INSERT OR REPLACE INTO entries (pair, path, kind, size, sha256, local_mtime_ns, local_inode,
       remote_mtime_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#remove = db.prepare("DELETE FROM entries WHERE pair = ? AND path = ?");
    this.#upsertRemote = db.prepare(
      `INSERT OR REPLACE INTO remote_entries (pair, path, kind, size, mtime_ns, sha256)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#removeRemote = db.prepare("DELETE FROM remote_entries WHERE pair = ? AND path = ?");
  }

  /** Whether a run of this pair ever ended with something remembered. */
  remembersAny(): boolean {
    return this.#db.prepare("SELECT 1 FROM entries WHERE pair = ? LIMIT 1").get(this.#pair) !==
      undefined;
  }

  /** Every remembered path. */
  load(): Map<string, BaseEntry> {
    const entries = new Map<string, BaseEntry>();
    for (const row of this.#rows(`SELECT ${BASE_COLUMNS} FROM entries WHERE pair = ?`)) {
      entries.set(row[0] as string, baseEntryOf(row));
    }
    return entries;
  }

  /** What is remembered of `paths` (those remembered; the rest are not in the map). */
  loadPaths(paths: Iterable<string>): Map<string, BaseEntry> {
    return this.#loadPaths(`SELECT ${BASE_COLUMNS} FROM entries`, paths, baseEntryOf);
  }

  /**
   * What {@link localChanges} compares a walk with, read now: a run reads it
   * while its walk is still going, and compares once the walk is done.
   */
  localQuickCheck(): RememberedQuickCheck {
    // Numbers, not bigints: times as whole milliseconds and the rest (local times are remembered
    // to the millisecond), sizes and inodes as doubles, as the listing has them.
    const select = this.#db.prepare(
      `SELECT path, kind = 'file', CAST(size AS REAL), local_mtime_ns / 1000000,
              local_mtime_ns % 1000000, CAST(local_inode AS REAL)
       FROM entries WHERE pair = ?`,
    );
    (select as StatementSync & { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    return { rows: select.all(this.#pair) as unknown as unknown[][] };
  }

  /**
   * How `listing` differs from the local side as remembered (`remembered`,
   * read by {@link localQuickCheck}): the paths that are new, gone, of another kind, or
   * files of another size, mtime or inode (whose remembered hash cannot
   * stand); and how many files are remembered. From the few columns it needs
   * and without an object per path, so that a run can look at only what
   * changed. Undefined if the walk skipped a path (the run reports it).
   */
  localChanges(
    listing: LocalListing,
    remembered: RememberedQuickCheck,
  ): LocalChanges | undefined {
    if (listing.skipped.length > 0) return undefined;
    const { rows } = remembered;
    const { paths, kinds, sizes, mtimesMs, inodes } = listing;
    const unseen = new Map<string, number>();
    for (let index = 0; index < paths.length; index++) unseen.set(paths[index], index);
    const changed = new Set<string>();
    let files = 0;
    for (const [path, isFile, size, mtimeMs, belowMs, inode] of rows) {
      if (isFile) files++;
      const index = unseen.get(path as string);
      if (index === undefined) {
        changed.add(path as string);
        continue;
      }
      unseen.delete(path as string);
      if (kinds[index] !== (isFile ? LISTED_KIND.file : LISTED_KIND.directory)) {
        changed.add(path as string);
      } else if (isFile) {
        const sameInode = inode === null ? Number.isNaN(inodes[index]) : inode === inodes[index];
        if (size !== sizes[index] || belowMs !== 0 || mtimeMs !== mtimesMs[index] || !sameInode) {
          changed.add(path as string);
        }
      }
    }
    for (const path of unseen.keys()) changed.add(path);
    return { paths: changed, files };
  }

  /**
   * The remote tree as last listed (at {@link cursor}): with the server's
   * changes since then it is the remote tree now, without listing it again.
   */
  loadRemote(): Map<string, SyncEntry> {
    const tree = new Map<string, SyncEntry>();
    for (const row of this.#rows(`SELECT ${REMOTE_COLUMNS} FROM remote_entries WHERE pair = ?`)) {
      tree.set(row[0] as string, remoteEntryOf(row));
    }
    return tree;
  }

  /** What the remembered remote tree holds at `paths` (those it holds). */
  loadRemotePaths(paths: Iterable<string>): Map<string, SyncEntry> {
    return this.#loadPaths(`SELECT ${REMOTE_COLUMNS} FROM remote_entries`, paths, remoteEntryOf);
  }

  /** The rows of `select` (to which the pair and path are added) at each of `paths`, as entries. */
  #loadPaths<E>(
    select: string,
    paths: Iterable<string>,
    entryOf: (row: unknown[]) => E,
  ): Map<string, E> {
    const statement = this.#db.prepare(`${select} WHERE pair = ? AND path = ?`);
    statement.setReadBigInts(true);
    (statement as StatementSync & { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    const entries = new Map<string, E>();
    for (const path of paths) {
      const row = statement.get(this.#pair, path) as unknown as unknown[] | undefined;
      if (row !== undefined) entries.set(path, entryOf(row));
    }
    return entries;
  }

  /**
   * The pair's rows of `sql` (one `?`, the pair), integers as bigints. Read
   * at once as arrays: a third of the time of iterating row objects.
   */
  #rows(sql: string): unknown[][] {
    const select = this.#db.prepare(sql);
    select.setReadBigInts(true);
    // Node's setReturnArrays: in the runtime, not yet in its type declarations.
    (select as StatementSync & { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    return select.all(this.#pair) as unknown as unknown[][];
  }

  /** Replaces the remembered remote tree and its journal position, in one transaction. */
  replaceRemote(tree: ReadonlyMap<string, SyncEntry>, cursor: JournalCursor): void {
    this.#transaction(() => {
      this.#forgetInStep();
      this.#db.prepare("DELETE FROM remote_entries WHERE pair = ?").run(this.#pair);
      for (const [path, entry] of tree) this.#putRemote(path, entry);
      this.#moveCursor(cursor);
    });
  }

  /**
   * Writes down the remembered remote tree's `touched` paths as `tree` now
   * has them (removed where it has none), and its journal position, in one
   * transaction: the rest of it did not change.
   */
  updateRemote(
    tree: ReadonlyMap<string, SyncEntry>,
    touched: Iterable<string>,
    cursor: JournalCursor,
  ): void {
    this.#transaction(() => {
      this.#forgetInStep();
      for (const path of touched) this.#putRemote(path, tree.get(path));
      this.#moveCursor(cursor);
    });
  }

  /** One row of the remembered remote tree: `entry` at `path`, or none. */
  #putRemote(path: string, entry: SyncEntry | undefined): void {
    if (entry === undefined) return void this.#removeRemote.run(this.#pair, path);
    this.#upsertRemote.run(
      this.#pair,
      path,
      entry.kind,
      entry.size,
      entry.mtimeNs,
      entry.sha256 ?? null,
    );
  }

  /** The server journal position the state was last brought up to, if any. */
  cursor(): JournalCursor | undefined {
    const row = this.#db.prepare("SELECT journal_id, journal_sequence FROM pairs WHERE id = ?")
      .get(this.#pair) as { journal_id: string | null; journal_sequence: number | null };
    if (row.journal_id === null || row.journal_sequence === null) return undefined;
    return { journalId: row.journal_id, sequence: row.journal_sequence };
  }

  /**
   * Applies `changes` in one transaction: all of them are remembered, or
   * none; with `cursor`, the journal position moves in the same transaction.
   */
  apply(changes: Iterable<StateChange>, cursor?: JournalCursor): void {
    this.#transaction(() => {
      this.#forgetInStep();
      for (const { path, entry } of changes) {
        if (entry === undefined) {
          this.#remove.run(this.#pair, path);
        } else {
          this.#upsert.run(
            this.#pair,
            path,
            entry.kind,
            entry.size,
            entry.sha256 ?? null,
            entry.localMtimeNs,
            entry.localInode ?? null,
            entry.remoteMtimeNs,
          );
        }
      }
      if (cursor !== undefined) this.#moveCursor(cursor);
    });
  }

  /**
   * The mark of the last run that found both sides exactly as remembered,
   * if nothing was written to the state since. It vouches only for the
   * remote tree at its cursor: the local folder is checked again each run.
   */
  inStep(): InStepMark | undefined {
    const row = this.#db.prepare(
      "SELECT journal_id, journal_sequence, rules FROM in_step WHERE pair = ?",
    ).get(this.#pair) as
      | { journal_id: string; journal_sequence: number; rules: string }
      | undefined;
    if (row === undefined) return undefined;
    return {
      cursor: { journalId: row.journal_id, sequence: Number(row.journal_sequence) },
      rules: row.rules,
    };
  }

  /**
   * A number that changes whenever another connection to the database (a
   * sync in another process, or another store in this one) commits a write,
   * and only then: SQLite's `data_version`.
   */
  othersWrites(): number {
    return Number(
      (this.#db.prepare("PRAGMA data_version").get() as { data_version: number }).data_version,
    );
  }

  /**
   * Marks both sides as found exactly as remembered, the remote tree at
   * `mark.cursor` (the cursor the state stands at), unless another
   * connection has written to the database since {@link othersWrites} said
   * `seen`: a run that saw the state before another's write cannot vouch for
   * it after. Every later write to the state takes the mark away, in its own
   * transaction. False if it was not marked.
   */
  markInStep(mark: InStepMark, seen: number): boolean {
    return this.#transaction(() => {
      if (this.othersWrites() !== seen) return false;
      this.#db.prepare(
        "INSERT OR REPLACE INTO in_step (pair, journal_id, journal_sequence, rules) VALUES (?, ?, ?, ?)",
      ).run(this.#pair, mark.cursor.journalId, mark.cursor.sequence, mark.rules);
      return true;
    });
  }

  #forgetInStep(): void {
    this.#db.prepare("DELETE FROM in_step WHERE pair = ?").run(this.#pair);
  }

  #moveCursor(cursor: JournalCursor): void {
    this.#db.prepare("UPDATE pairs SET journal_id = ?, journal_sequence = ? WHERE id = ?")
      .run(cursor.journalId, cursor.sequence, this.#pair);
  }

  /** Runs `work` in one transaction: all of it is kept, or none. */
  #transaction<T>(work: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

/** A remembered entry's columns, for {@link baseEntryOf}. */
const BASE_COLUMNS = "path, kind, size, sha256, local_mtime_ns, local_inode, remote_mtime_ns";

/** A remembered entry from its row of {@link BASE_COLUMNS} (integers read as bigints). */
function baseEntryOf(row: unknown[]): BaseEntry {
  const [, kind, size, sha256, localMtimeNs, localInode, remoteMtimeNs] = row;
  return {
    kind: kind as SyncKind,
    size: Number(size),
    sha256: (sha256 as string | null) ?? undefined,
    localMtimeNs: localMtimeNs as bigint,
    localInode: localInode === null ? undefined : Number(localInode),
    remoteMtimeNs: remoteMtimeNs as bigint,
  };
}

/** A remembered remote entry's columns, for {@link remoteEntryOf}. */
const REMOTE_COLUMNS = "path, kind, size, mtime_ns, sha256";

/** A remembered remote entry from its row of {@link REMOTE_COLUMNS} (integers read as bigints). */
function remoteEntryOf(row: unknown[]): SyncEntry {
  const [, kind, size, mtimeNs, sha256] = row;
  const entry: SyncEntry = {
    kind: kind as SyncKind,
    size: Number(size),
    mtimeNs: mtimeNs as bigint,
  };
  if (sha256 !== null) entry.sha256 = sha256 as string;
  return entry;
}
