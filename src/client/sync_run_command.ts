/**
 * What `sync` does once connected (sync_command.ts is its entry in the
 * command table): opens the state and both sides, runs the sync (or watches
 * with `--watch`), and reports the plan, the conflicts and the totals.
 *
 * @module
 */

import { type Command, type CommandContext, parseCommandArgs } from "./command.ts";
import { LocalError, reasonOf, UsageError } from "./errors.ts";
import { createProgress, type Progress } from "./progress.ts";
import { describePlan, describeTotals } from "../sync/report.ts";
import { runSync, type SyncOptions, type SyncReport, SyncStopped } from "../sync/run_sync.ts";
import { BackgroundListing } from "../sync/listing_in_worker.ts";
import { defaultStatePath, SyncStateStore } from "../sync/state_store.ts";
import { openSyncSides } from "../sync/remote_folder.ts";
import type { SyncDirection } from "../sync/reconcile.ts";
import { plural } from "../shared/plural.ts";
import { SYNC_FLAGS } from "./sync_flags.ts";

/** Runs `sync ARGS` for `command` (its table entry) on `context`'s connection. */
export async function runSyncCommand(
  command: Command,
  context: CommandContext,
  args: string[],
): Promise<void> {
  const { values, positionals } = parseCommandArgs(command, args, SYNC_FLAGS, { min: 2, max: 2 });
  const options: SyncOptions = {
    direction: directionOf(values),
    delete: values.delete ?? false,
    dryRun: values["dry-run"] ?? false,
    force: values.force ?? false,
    guard: values["max-delete"] === undefined
      ? undefined
      : { maxFiles: fileCount(values["max-delete"]), maxShare: 1 },
    host: hostName(),
  };
  const store = SyncStateStore.open(defaultStatePath());
  if (values.watch) {
    if (options.dryRun) throw new UsageError("--watch and --dry-run exclude each other");
    try {
      // Loaded only for --watch (the watcher, its scheduler, reconnection).
      const { watchSync } = await import("./sync_watch.ts");
      return await watchSync(
        context,
        store,
        { local: positionals[0], remote: positionals[1] },
        options,
      );
    } finally {
      store.close();
    }
  }
  const progress = await createProgress({ label: "sync", quiet: context.quiet });
  try {
    const folders = { local: positionals[0], remote: positionals[1] };
    const sides = await openSyncSides(context, store, folders, perFile(progress));
    const walk = context.prepared instanceof BackgroundListing ? context.prepared : undefined;
    const report = await runSync(sides, {
      ...options,
      walk,
      onPlan: (_plan, totals) => {
        const files = totals.pushed.files + totals.pulled.files;
        progress.grow(totals.pushed.bytes + totals.pulled.bytes, files);
      },
      onStep: (action, error) => {
        if (error !== undefined) context.warn(`sync: ${action.path}: ${reasonOf(error)}`);
      },
    });
    progress.stop();
    await reportRun(context, report, options.dryRun ?? false);
  } catch (error) {
    if (error instanceof SyncStopped) throw new LocalError(error.message);
    throw error;
  } finally {
    progress.stop();
    store.close();
  }
}

async function reportRun(context: CommandContext, report: SyncReport, dryRun: boolean) {
  for (const skipped of report.skipped) {
    context.warn(`sync: ${skipped.path}: skipped (${skipped.reason})`);
  }
  if (dryRun) {
    for (const line of describePlan(report.plan)) await context.print(`${line}\n`);
  } else {
    for (const conflict of report.plan.conflicts) {
      const kept = conflict.kept === "remote" ? "the server's" : "the local";
      context.warn(
        `sync: conflict: ${conflict.path}: both sides changed it; ${kept} version keeps the name, ` +
          `the other is ${conflict.aside}`,
      );
    }
    for (const kept of report.plan.kept) {
      const where = kept.side === "remote" ? "on the server" : "locally";
      context.warn(`sync: ${kept.path} ${where}: ${kept.reason}`);
    }
  }
  const summary = dryRun
    ? `would have: ${describeTotals(report.totals)}`
    : describeTotals(report.totals);
  if (!context.quiet) await context.print(`${summary}\n`);
  if (report.totals.failed > 0) {
    throw new LocalError(
      `${plural(report.totals.failed, "change")} could not be made (see above); run sync again`,
    );
  }
}

/** Files report bytes to the overall bar; the totals come from the plan. */
function perFile(overall: Progress): Progress {
  return {
    grow() {},
    advance: (bytes) => overall.advance(bytes),
    fileDone: () => overall.fileDone(),
    stop() {},
  };
}

function directionOf(values: { push?: boolean; pull?: boolean; delete?: boolean }): SyncDirection {
  if (values.push && values.pull) throw new UsageError("--push and --pull exclude each other");
  if (values.delete && !values.push && !values.pull) {
    throw new UsageError(
      "--delete needs --push or --pull (a two-way sync already takes deletes both ways)",
    );
  }
  return values.push ? "push" : values.pull ? "pull" : "both";
}

function fileCount(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--max-delete takes a number of files, not ${JSON.stringify(text)}`);
  }
  return value;
}

/** This machine's name, for conflict names (read from /etc/hostname: no extra permission). */
function hostName(): string {
  try {
    return Deno.readTextFileSync("/etc/hostname").trim() || "localhost";
  } catch {
    return "localhost";
  }
}
