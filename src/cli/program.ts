/**
 * The `dfos` command line: `server`, `client`, `discover` and `user` subcommands. Usage errors
 * exit 2 with a `dfos: …` line; help and version exit 0. A command that needs a
 * subcommand and got none (`dfos`, `dfos user`) prints its help on stderr and
 * exits 2: that is a usage error too.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { VERSION } from "./version.ts";

type Subcommand = (onExit: (code: number) => void) => Command;

/**
 * The subcommands, each loaded only when it is needed: a line that names
 * one (`dfos client …`, the way scripts call it again and again) loads that
 * one alone; help, the version and anything unknown load them all. Each
 * brings modules the others do not use, and loading all of them took a
 * one-shot client about 20 ms more before it could connect.
 */
const SUBCOMMANDS: Record<string, () => Promise<Subcommand>> = {
  server: async () => (await import("./server_command.ts")).serverCommand,
  client: async () => (await import("./client_command.ts")).clientCommand,
  discover: async () => (await import("./discover_command.ts")).discoverCommand,
  user: async () => (await import("./user_command.ts")).userCommand,
};

/** Runs the command line `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const program = new Command("dfos")
    .description("DFOS: move and sync files between machines you control")
    .version(VERSION, "-V, --version")
    .enablePositionalOptions();
  const named = Object.hasOwn(SUBCOMMANDS, args[0] ?? "") ? [args[0]] : Object.keys(SUBCOMMANDS);
  const subcommands = await Promise.all(named.map((name) => SUBCOMMANDS[name]()));
  for (const subcommand of subcommands) program.addCommand(subcommand(setExit));
  // addCommand() does not pass settings down: give every command the same ones.
  for (const command of withSubcommands(program)) {
    command.exitOverride().configureOutput({
      outputError: (text, write) => write(`dfos: ${text.replace(/^error: /, "")}`),
    });
  }
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return exitCodeOf(error);
    throw error;
  }
  return exitCode;
}

/** Asked-for help and the version exit 0; help shown because of a mistake, and errors, 2. */
function exitCodeOf(error: CommanderError): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
  // `help` and `help COMMAND` exit 0; help printed for a missing subcommand has exit code 1.
  if (error.code === "commander.help") return error.exitCode === 0 ? 0 : 2;
  return 2;
}

/** `command` and all its subcommands, however deeply nested. */
function withSubcommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(withSubcommands)];
}
