/**
 * `dfos server status` and `dfos server stop`: talk to a running server
 * over its control socket, found from the same `--storage`, `--state-dir`
 * and `--config` (with the same defaults and precedence) as `dfos server`
 * takes. Each may also be given before the subcommand
 * (`dfos server --config F stop`).
 *
 * @module
 */

import { Command } from "commander";
import { dirname, resolve } from "node:path";
import type { ControlSocketSettings } from "../control/socket_path.ts";
import { seconds } from "./options.ts";

/** Builds `server status`; `onExit` receives the exit code. */
export function serverStatusCommand(onExit: (code: number) => void): Command {
  return withSocketOptions(new Command("status"))
    .description("show a running server's sessions, transfers, queue and totals")
    .option("--json", "print the status as JSON (fields in the README)")
    .action(async (options, command: Command) => {
      const { runStatus } = await import("./server_control_run.ts");
      const settings = await socketSettings(command, "server status");
      if (typeof settings === "number") return onExit(settings);
      onExit(await runStatus(settings, { json: Boolean(options.json) }));
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
      const settings = await socketSettings(command, "server stop");
      if (typeof settings === "number") return onExit(settings);
      onExit(await runStop(settings, { timeoutMs: options.timeout }));
    });
}

function withSocketOptions(command: Command): Command {
  return command
    .option("--storage <dir>", "the server's --storage (default: ./server_storage)")
    .option(
      "--state-dir <dir>",
      "the server's --state-dir (default: server_state beside the storage)",
    )
    .option("--config <file>", "the server's --config: its storage and state-dir, under the flags");
}

/**
 * The socket's settings: the subcommand's own, else those the parent
 * `server` command was given (not its defaults, which stand for "not said"),
 * else those of the config file either names. Exit code 1 (said why) if
 * that file cannot be used.
 */
async function socketSettings(
  command: Command,
  what: string,
): Promise<ControlSocketSettings | number> {
  const given = (name: string): string | undefined => {
    const own = command.getOptionValue(name);
    if (own !== undefined) return own;
    const parent = command.parent;
    if (!parent || parent.getOptionValueSource(name) === "default") return undefined;
    return parent.getOptionValue(name);
  };
  const flags = { storageDir: given("storage"), stateDir: given("stateDir") };
  const config = given("config");
  if (config === undefined) return flags;
  const { ConfigFileError, loadConfigFile } = await import("./server_config_file.ts");
  try {
    const file = await loadConfigFile(config);
    // As the server reads them: a relative path from the file's folder.
    const path = (key: string) => {
      const value = file.values[key];
      return typeof value === "string" ? resolve(dirname(file.path), value) : undefined;
    };
    return {
      storageDir: flags.storageDir ?? path("storage"),
      stateDir: flags.stateDir ?? path("state-dir"),
    };
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    console.error(`dfos: ${what}: ${error.message}`);
    return 1;
  }
}
