/**
 * What the sync executor needs from each side. The local side is the
 * folder on this machine; the remote side goes through the server. Every
 * change is conditional on what the plan saw, and fails with
 * {@link ChangedMeanwhile} (locally) or a CONFLICT status (remotely) if the
 * path moved on since.
 *
 * @module
 */

import type { SyncEntry } from "./sync_entry.ts";

/** Operations on one side, paths relative to the synced folder. */
export interface SideOperations {
  /** Creates a folder and its missing parents; resolves to its entry. */
  mkdir(path: string): Promise<SyncEntry>;
  /** Removes `path` if it is still `expected` (a folder only if empty). */
  delete(path: string, expected: SyncEntry): Promise<void>;
  /** Moves `from` to `to` if `from` is still `expected` and `to` free; resolves to the moved entry. */
  rename(from: string, to: string, expected: SyncEntry): Promise<SyncEntry>;
}

/** Copies files between the sides; a copy resolves to the new file's entry where it arrived. */
export interface Copier {
  /** Uploads the local `path` (scanned as `source`) if the remote `path` is still `expected`. */
  push(path: string, source: SyncEntry, expected?: SyncEntry): Promise<SyncEntry>;
  /** Downloads the remote `path` (listed as `source`) if the local `path` is still `expected`. */
  pull(path: string, source: SyncEntry, expected?: SyncEntry): Promise<SyncEntry>;
}
