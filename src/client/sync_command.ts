/**
 * `sync LOCAL_DIR REMOTE_DIR`: keeps a local folder and a folder on the
 * server in step, both ways by default, or one way with `--push`/`--pull`
 * (`--delete` makes a one-way sync a mirror). `--dry-run` prints the plan
 * and changes nothing. Conflicts are reported, not failures; a path that
 * could not be synced makes the command fail (exit 1) once the rest is done.
 * This module is the command's entry in the table, and what it does before
 * connecting (the local walk); the run is sync_run_command.ts, loaded when a
 * sync runs.
 *
 * @module
 */

import { type Command, parseCommandArgs } from "./command.ts";
import { walkAhead } from "../sync/walk_ahead.ts";
import { SYNC_FLAGS } from "./sync_flags.ts";

/** The `sync` command. */
export const syncCommand: Command = {
  name: "sync",
  usage:
    "sync [--push | --pull] [--delete] [-n] [--force] [--max-delete N] [--watch] LOCAL_DIR REMOTE_DIR",
  summary: "keep a local and a remote folder in step (two-way; --push/--pull one way)",
  completes: ["local", "remote"],
  prepare(args) {
    const { values, positionals } = parseCommandArgs(this, args, SYNC_FLAGS, { min: 2, max: 2 });
    return values.watch ? undefined : walkAhead(positionals[0]);
  },
  async run(context, args) {
    // The sync itself (its state, the comparison, the journal) loads only for a sync.
    const { runSyncCommand } = await import("./sync_run_command.ts");
    return await runSyncCommand(this, context, args);
  },
};
