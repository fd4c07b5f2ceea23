/**
 * The change journal of a {@link LocalStorage} user: `.dfos/journal.db`
 * (and its write-ahead log `journal.db-wal`) in the user's private folder,
 * opened so that a folder swapped meanwhile cannot send it elsewhere.
 *
 * What SQLite does with the path it is given (checked with strace on the
 * pinned Deno 2.9 and its SQLite): it resolves every symbolic link in it
 * itself, `/proc/self/fd/<fd>` included, so the descriptor path of the
 * pinned `.dfos` turns back into that folder's path *as it is at that
 * moment*, and opens the database and its log by that text (the last name
 * with O_NOFOLLOW). So the open is not pinned, but it follows the pinned
 * folder wherever it has moved. What holds:
 *
 * - After opening, the server checks that the database and the log that
 *   the pinned folder holds (by device and inode) are open in the process:
 *   nothing but SQLite opens them. If not, a swap won the race, and the
 *   journal is refused and left open: closing it would fold and remove the
 *   log it opened elsewhere. SQLite keeps both files open
 *   for the life of the connection (exclusive locking: no `-shm` file), so
 *   every later write goes to them, wherever their names go.
 * - What SQLite still does by name: it creates and removes a rollback
 *   journal once, when it first makes the database (before the check), and
 *   when the connection closes it folds the log into the database and
 *   removes it by the path it resolved, but only if the database at that
 *   path is still the file it has open (it compares inodes): a folder moved
 *   meanwhile keeps its log, and whatever took its path is left alone. The
 *   log is read back the next time the journal opens.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { ChangeJournal, type ChangeJournalOptions } from "./change_journal.ts";
import { openDescriptors, sameEntry, statFd } from "./descriptor_paths.ts";
import type { Journal } from "./journal.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";
import { StorageError } from "./storage.ts";

/** The journal's file in `.dfos`; SQLite adds `-wal` for its log. */
export const JOURNAL_FILE = "journal.db";

/** How the folder is named in messages (clients cannot name it). */
const FOLDER_NAME = "/.dfos";

/**
 * Opens the journal in `folder` (the pinned `.dfos`), which it takes over:
 * the folder closes when the journal does.
 */
export function openLocalJournal(
  folder: PinnedDirectory,
  options: ChangeJournalOptions = {},
): Journal {
  try {
    refuseOddFiles(folder);
    const journal = ChangeJournal.open(folder.entry(JOURNAL_FILE), {
      ...options,
      onClose: () => folder.close(),
    });
    if (!holdsOwnFiles(folder, openDescriptors())) {
      // Not closed: SQLite would remove a log by the path that led elsewhere.
      throw new StorageError(
        STATUS.IO_ERROR,
        `${FOLDER_NAME}: the server's private folder changed while the change journal was opened`,
      );
    }
    return journal;
  } catch (error) {
    folder.close();
    if (error instanceof StorageError) throw error;
    throw new StorageError(
      STATUS.IO_ERROR,
      `${FOLDER_NAME}/${JOURNAL_FILE}: the change journal cannot be opened (${String(error)})`,
    );
  }
}

/** Refuses a database or log that is not a regular file (SQLite could block on a FIFO). */
function refuseOddFiles(folder: PinnedDirectory): void {
  for (const name of [JOURNAL_FILE, `${JOURNAL_FILE}-wal`]) {
    const info = folder.lstat(name);
    if (info !== null && !info.isFile) {
      throw new StorageError(
        STATUS.IO_ERROR,
        `${FOLDER_NAME}/${name}: not a regular file, so the change journal cannot be opened`,
      );
    }
  }
}

/**
 * Whether the database and the log that `folder` holds are open in this
 * process: only SQLite opens them, and only one journal per user is open.
 */
function holdsOwnFiles(folder: PinnedDirectory, opened: number[]): boolean {
  const identities = opened.flatMap((fd) => {
    try {
      return [statFd(fd)];
    } catch {
      return []; // Closed meanwhile: not SQLite's.
    }
  });
  return [JOURNAL_FILE, `${JOURNAL_FILE}-wal`].every((name) => {
    const info = folder.lstat(name);
    return info !== null && info.isFile && identities.some((open) => sameEntry(open, info));
  });
}
