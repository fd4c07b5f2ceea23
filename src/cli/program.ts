/**
 * The `dfos` command line: `server`, `client` and `user` subcommands. Usage errors
 * exit 2 with a `dfos: …` line; help and version exit 0.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { clientCommand } from "./client_command.ts";
import { serverCommand } from "./server_command.ts";
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
    if (error instanceof CommanderError) {
      const informational = error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" || error.code === "commander.help";
      return informational ? 0 : 2;
    }
    throw error;
  }
  return exitCode;
}

/** `command` and all its subcommands, however deeply nested. */
function withSubcommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(withSubcommands)];
}
