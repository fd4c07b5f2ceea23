/**
 * What every user's storage on the object-store backend shares within one
 * process: the database and the store, the uploads this process is writing
 * (a partial being written is never discarded, and one upload of a file at a
 * time), each user's ledger of changes already in their journal
 * (object_journal.ts), and the one listener for the journals' "moved"
 * signal (journal_signal.ts).
 *
 * @module
 */

import type { Database } from "../../database/database.ts";
import { JournalSignal } from "../../database/journal_signal.ts";
import type { ObjectStore } from "./object_store.ts";
import { JournalLedger } from "./object_journal.ts";

/** Size of every part of a multipart upload but the last: one is buffered at a time. */
export const PART_SIZE = 8 * 1024 * 1024;

/** The uploads being written in this process. */
export class ActiveUploads {
  readonly #files = new Set<string>();
  readonly #records = new Set<number>();

  /** Claims the upload of (user, path, size, mtime); false if it is being written already. */
  claim(key: string): boolean {
    if (this.#files.has(key)) return false;
    this.#files.add(key);
    return true;
  }

  /** Notes that the upload record `id` is written here (until {@link release}). */
  attach(id: number): void {
    this.#records.add(id);
  }

  /** Ends a claim and the record's note. */
  release(key: string, id?: number): void {
    this.#files.delete(key);
    if (id !== undefined) this.#records.delete(id);
  }

  /** Whether the upload record `id` is being written here. */
  has(id: number): boolean {
    return this.#records.has(id);
  }
}

/** The shared parts, one per provider. */
export class ObjectBackend {
  readonly uploads = new ActiveUploads();
  readonly #ledgers = new Map<string, JournalLedger>();
  /** Every node's changes to the journals, heard on one connection for the process. */
  readonly journalSignal: JournalSignal;

  constructor(readonly database: Database, readonly store: ObjectStore) {
    this.journalSignal = new JournalSignal(database);
  }

  /** The ledger of `user`'s changes recorded by their metadata transactions. */
  ledger(user: string): JournalLedger {
    let ledger = this.#ledgers.get(user);
    if (ledger === undefined) {
      ledger = new JournalLedger();
      this.#ledgers.set(user, ledger);
    }
    return ledger;
  }
}

/** A fresh key for an immutable object: random, so no two objects ever share one. */
export function newObjectKey(): string {
  return `objects/${crypto.randomUUID()}`;
}
