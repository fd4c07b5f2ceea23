/**
 * `sync --watch`: syncs once, then again whenever either side may have
 * changed, until Ctrl-C (or SIGINT/SIGTERM from a service manager). Local
 * changes come from the folder watcher (or polling where it cannot watch),
 * remote ones from the server's `Changed` notices, and a periodic rescan
 * catches whatever both missed. A lost connection is retried with backoff;
 * each run starts from the remembered state, so nothing is repeated or lost.
 *
 * @module
 */

import type { CommandContext } from "./command.ts";
import { CancelledError, ConnectionError, reasonOf, RemoteError } from "./errors.ts";
import { STATUS } from "../protocol/status.ts";
import { SILENT_PROGRESS } from "./progress.ts";
import { describeTotals } from "../sync/report.ts";
import { openSyncSides, type SyncFolders } from "../sync/remote_folder.ts";
import { runSync, type SyncOptions, type SyncSides, SyncStopped } from "../sync/run_sync.ts";
import type { SyncStateStore } from "../sync/state_store.ts";
import { watchLocalFolder, WatchScheduler } from "../sync/watch.ts";
import type { JournalPosition } from "../storage/journal.ts";

/** Options of {@link watchSync}. */
export interface WatchOptions extends SyncOptions {
  /** A full rescan at least this often, ms. Default 60,000. */
  rescanMs?: number;
}

/** Longest wait between attempts to reconnect, ms. */
const MAX_BACKOFF_MS = 30_000;

/** Keeps the folders in step until the context's signal aborts; then rejects with CancelledError. */
export async function watchSync(
  context: CommandContext,
  store: SyncStateStore,
  folders: SyncFolders,
  options: WatchOptions,
): Promise<void> {
  const signal = context.signal ?? new AbortController().signal;
  let sides = await openSyncSides(context, store, folders, SILENT_PROGRESS);
  const scheduler = new WatchScheduler(async () => {
    sides = await runWithRetries(context, sides, options, signal, async () => {
      sides = await openSyncSides(context, store, folders, SILENT_PROGRESS);
      return sides;
    }, (position) => armWatch(context, sides, position, () => scheduler.remote()));
  }, { signal, rescanMs: options.rescanMs });
  const local = watchLocalFolder(sides.localRoot, {
    onChange: () => scheduler.local(),
    onFallback: (error) =>
      context.warn(`sync: cannot watch ${folders.local} (${reasonOf(error)}); polling it instead`),
    signal,
  });
  await Promise.all([scheduler.loop(), local]);
  throw signal.reason ?? new CancelledError();
}

/** One run; a lost connection is retried with backoff until it works or the signal aborts. */
async function runWithRetries(
  context: CommandContext,
  sides: SyncSides,
  options: WatchOptions,
  signal: AbortSignal,
  reopen: () => Promise<SyncSides>,
  arm: (position: JournalPosition) => Promise<void>,
): Promise<SyncSides> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      if (attempt > 0) {
        await context.reconnect!();
        sides = await reopen();
      }
      const report = await runSync(sides, { ...options, dryRun: false });
      const moved = report.totals.pushed.files + report.totals.pulled.files +
        report.totals.renames + report.totals.deletes + report.totals.conflicts;
      if (moved > 0 && !context.quiet) {
        await context.print(`${new Date().toISOString()} ${describeTotals(report.totals)}\n`);
      }
      for (const conflict of report.plan.conflicts) {
        context.warn(`sync: conflict: ${conflict.path}: the other version is ${conflict.aside}`);
      }
      await arm(report.remotePosition);
      return sides;
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof SyncStopped) {
        context.warn(`sync: ${error.message}`);
        return sides; // Waits for the next change: someone has to look.
      }
      if (!(error instanceof ConnectionError) || context.reconnect === undefined) {
        context.warn(`sync: ${reasonOf(error)}`);
        return sides;
      }
      const wait = Math.min(1000 * 2 ** attempt, MAX_BACKOFF_MS);
      context.warn(`sync: ${reasonOf(error)}; trying again in ${Math.round(wait / 1000)} s`);
      await sleep(wait, signal);
    }
  }
  return sides;
}

/** Asks the server to say when another session changes the remote folder. */
async function armWatch(
  context: CommandContext,
  sides: SyncSides,
  position: JournalPosition,
  onChanged: () => void,
): Promise<void> {
  context.connection.onChanged = onChanged;
  // The answer lists what changed since the listing, which no notice will announce: another
  // session's change that landed meanwhile, or this run's own. Either way one more run settles
  // it (finding nothing, if it was our own). A cursor already gone (the server's journal was
  // rebuilt): run again, which lists the folder and starts from the new journal.
  try {
    const since = await context.connection.changes(sides.remoteRoot, position, true);
    if (since.changes.length > 0) onChanged();
  } catch (error) {
    if (error instanceof RemoteError && error.code === STATUS.CURSOR_EXPIRED) return onChanged();
    if (error instanceof ConnectionError) throw error;
    // Without notices the periodic rescan still finds every change.
    context.warn(`sync: the server will not say when the folder changes: ${reasonOf(error)}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
