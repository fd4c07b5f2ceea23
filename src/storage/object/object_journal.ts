/**
 * The change journal of the object-store backend, and how a change gets
 * into it exactly once.
 *
 * Every change is recorded by the metadata transaction that makes it
 * (ObjectMetadata with `journal: true`): the name and its journal entry
 * commit together, and the user's row numbers the changes of every node in
 * commit order, so no crash loses a change and no two nodes' changes are
 * numbered out of the order they happened in. The server's change feed then
 * writes the same change to the journal too (user_journals.ts), as it must
 * for the local backend. So the storage notes each change it committed in
 * the user's {@link JournalLedger}, and the journal given to the server
 * ({@link ObjectJournal}) takes a change found there as already recorded.
 * A change the ledger does not know (one the server found by comparing the
 * tree with the index) is recorded as usual.
 *
 * Other nodes write the same journal: {@link ObjectJournal.onMoved} hears of
 * every change committed to it, through the database's "journal moved"
 * signal (journal_signal.ts), so watching sessions hear of them too.
 *
 * @module
 */

import type { Unsubscribe } from "../../database/journal_signal.ts";
import type { PostgresJournal } from "../../database/postgres_journal.ts";
import type {
  ChangesSince,
  IndexedEntry,
  Journal,
  JournalChange,
  SinceOptions,
} from "../journal.ts";

/** Changes noted and not yet taken, at most: a change the feed never wrote ages out. */
const LEDGER_LIMIT = 1024;

/** One user's changes recorded by metadata transactions, until the feed writes them. */
export class JournalLedger {
  /** Change → how many times noted; in the order first noted. */
  readonly #noted = new Map<string, number>();

  /** Notes a committed change: `put` (a file or folder now at `path`), `delete` or `rename`. */
  note(op: "put" | "delete" | "rename", path: string, from?: string): void {
    const key = ledgerKey(op, path, from);
    this.#noted.set(key, (this.#noted.get(key) ?? 0) + 1);
    if (this.#noted.size > LEDGER_LIMIT) this.#noted.delete(this.#noted.keys().next().value!);
  }

  /** Takes a noted change: true if it was there (it is recorded already). */
  take(op: "put" | "delete" | "rename", path: string, from?: string): boolean {
    const key = ledgerKey(op, path, from);
    const count = this.#noted.get(key);
    if (count === undefined) return false;
    if (count > 1) this.#noted.set(key, count - 1);
    else this.#noted.delete(key);
    return true;
  }
}

function ledgerKey(op: string, path: string, from?: string): string {
  return `${op}\0${path}\0${from ?? ""}`;
}

/** Subscribes to the moves of one user's journal (JournalSignal.subscribe, for that user). */
export type JournalMoves = (onMoved: () => void) => Promise<Unsubscribe>;

/**
 * A {@link PostgresJournal} whose writes skip what the user's ledger says is
 * recorded already, and that says when it moved; everything else is the
 * journal's own.
 */
export class ObjectJournal implements Journal {
  readonly id: string;
  readonly #journal: PostgresJournal;
  readonly #ledger: JournalLedger;
  readonly #moves: JournalMoves;

  constructor(journal: PostgresJournal, ledger: JournalLedger, moves: JournalMoves) {
    this.#journal = journal;
    this.#ledger = ledger;
    this.#moves = moves;
    this.id = journal.id;
  }

  /** Calls `onMoved` whenever any node commits a change to the journal, until unsubscribed. */
  onMoved(onMoved: () => void): Promise<Unsubscribe> {
    return this.#moves(onMoved);
  }

  sequence(): Promise<number> {
    return this.#journal.sequence();
  }

  lookup(path: string): Promise<IndexedEntry | undefined> {
    return this.#journal.lookup(path);
  }

  entriesAfter(under: string, after: string | null, limit: number) {
    return this.#journal.entriesAfter(under, after, limit);
  }

  async put(path: string, entry: IndexedEntry): Promise<JournalChange> {
    if (this.#ledger.take("put", path)) {
      const op = entry.kind === "directory" ? "mkdir" : "put";
      return { ...await this.#recorded(op, path), ...entry };
    }
    return await this.#journal.put(path, entry);
  }

  async delete(path: string): Promise<JournalChange> {
    if (this.#ledger.take("delete", path)) return await this.#recorded("delete", path);
    return await this.#journal.delete(path);
  }

  async rename(from: string, to: string): Promise<JournalChange> {
    if (this.#ledger.take("rename", to, from)) {
      return { ...await this.#recorded("rename", to), from };
    }
    return await this.#journal.rename(from, to);
  }

  rememberHash(path: string, entry: IndexedEntry & { sha256: string }): Promise<boolean> {
    return this.#journal.rememberHash(path, entry);
  }

  since(journalId: string, sequence: number, options: SinceOptions): Promise<ChangesSince> {
    return this.#journal.since(journalId, sequence, options);
  }

  close(): Promise<void> {
    return this.#journal.close();
  }

  /** The change as the metadata transaction recorded it (its sequence: the journal's last, or later). */
  async #recorded(op: JournalChange["op"], path: string): Promise<JournalChange> {
    return { sequence: await this.#journal.sequence(), op, path };
  }
}
