/**
 * The `dfos` command line: `server`, `client`, `discover` and `user` subcommands. Usage errors
 * exit 2 with a `dfos: …` line; help and version exit 0. A command that needs a
 * subcommand and got none (`dfos`, `dfos user`) prints its help on stderr and
 * exits 2: that is a usage error too.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { clientCommand } from "./client_command.ts";
import { serverCommand } from "./server_command.ts";
import { discoverCommand } from "./discover_command.ts";
import { userCommand } from "./user_command.ts";
import { VERSION } from "./version.ts";

/** Runs the command line `args`; resolves to the process exit code. */
export async function main(args: string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const program = new Command("dfos")
    .description("DFOS: move and sync files between machines you control")
    .version(VERSION, "-V, --version")
    .enablePositionalOptions()
    .addCommand(serverCommand(setExit))
    .addCommand(clientCommand(setExit))
    .addCommand(discoverCommand(setExit))
    .addCommand(userCommand(setExit));
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
