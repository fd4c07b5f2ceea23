/**
 * A log sink that appends each record to its file as it comes, as one
 * write, and syncs the file to disk in the background at most once every
 * {@link SYNC_EVERY_MS}. LogTape's own file sink syncs after every flush on
 * the server's only thread (a few hundred microseconds to milliseconds
 * each, once per audit record): with this one a record is in the file (the
 * page cache, where every reader sees it) before the request it describes
 * has been answered, and on disk within a second; a crash of the process
 * loses nothing, a power cut at most the last second.
 *
 * @module
 */

import type { LogRecord, Sink } from "@logtape/logtape";

/** Longest time a written record may wait before the file is synced. */
export const SYNC_EVERY_MS = 1_000;

/** Options of {@link appendFileSink}. */
export interface AppendFileSinkOptions {
  /** Turns a record into one line (ending in a newline). */
  formatter: (record: LogRecord) => string;
}

/** A sink appending to `path` (created with mode 0o640 if missing); dispose it to sync and close. */
export function appendFileSink(
  path: string,
  options: AppendFileSinkOptions,
): Sink & AsyncDisposable {
  const file = Deno.openSync(path, { create: true, append: true, mode: 0o640 });
  const encoder = new TextEncoder();
  let unsynced = false;
  let syncing: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sync = () => {
    timer = undefined;
    if (!unsynced || syncing) return;
    unsynced = false;
    syncing = file.syncData().catch(() => {}).finally(() => {
      syncing = undefined;
      if (unsynced) schedule();
    });
  };
  const schedule = () => {
    if (timer !== undefined) return;
    timer = setTimeout(sync, SYNC_EVERY_MS);
    Deno.unrefTimer(timer);
  };
  const sink = (record: LogRecord) => {
    const bytes = encoder.encode(options.formatter(record));
    for (let offset = 0; offset < bytes.length;) offset += file.writeSync(bytes.subarray(offset));
    unsynced = true;
    schedule();
  };
  return Object.assign(sink, {
    async [Symbol.asyncDispose]() {
      clearTimeout(timer);
      await syncing;
      if (unsynced) await file.syncData().catch(() => {});
      file.close();
    },
  });
}
