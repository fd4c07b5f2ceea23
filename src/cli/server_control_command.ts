/**
 * `dfos server status` and `dfos server stop`: talk to a running server
 * over its control socket, found from the same `--storage` and
 * `--state-dir` (with the same defaults) as `dfos server` takes. Either
 * may also be given before the subcommand (`dfos server --storage D stop`).
 *
 * @module
 */

import { Command } from "commander";
import type { ControlSocketSettings } from "../control/socket_path.ts";
import { seconds } from "./options.ts";

/** Builds `server status`; `onExit` receives the exit code. */
export function serverStatusCommand(onExit: (code: number) => void): Command {
  return withSocketOptions(new Command("status"))
    .description("show a running server's sessions, transfers, queue and totals")
    .option("--json", "print the status as JSON (fields in the README)")
    .action(async (options, command: Command) => {
      const { runStatus } = await import("./server_control_run.ts");
      onExit(await runStatus(socketSettings(command), { json: Boolean(options.json) }));
    });
}

/** Builds `server stop`; `onExit` receives the exit code. */
export function serverStopCommand(onExit: (code: number) => void): Command {
  return withSocketOptions(new Command("stop"))
    .description("stop a running server as SIGTERM does, and wait until it has exited")
    .option(
      "--timeout <seconds>",
      "longest wait for it to exit (default: its shutdown grace plus 15 s)",
      seconds,
    )
    .action(async (options, command: Command) => {
      const { runStop } = await import("./server_control_run.ts");
      onExit(await runStop(socketSettings(command), { timeoutMs: options.timeout }));
    });
}

function withSocketOptions(command: Command): Command {
  return command
    .option("--storage <dir>", "the server's --storage (default: ./server_storage)")
    .option(
      "--state-dir <dir>",
      "the server's --state-dir (default: server_state beside the storage)",
    );
}

/**
 * The socket's settings: the subcommand's own, else those the parent
 * `server` command was given (not its defaults, which stand for "not said").
 */
function socketSettings(command: Command): ControlSocketSettings {
  const given = (name: string): string | undefined => {
    const own = command.getOptionValue(name);
    if (own !== undefined) return own;
    const parent = command.parent;
    if (!parent || parent.getOptionValueSource(name) === "default") return undefined;
    return parent.getOptionValue(name);
  };
  return { storageDir: given("storage"), stateDir: given("stateDir") };
}
