/**
 * `--config FILE` and `--print-config` for a command whose every option may
 * also come from a TOML file. The file's reader and the printer are loaded
 * only when asked for, so other commands do not pay for the TOML library.
 *
 * @module
 */

import type { Command, OptionValues } from "commander";
import { resolve } from "node:path";
import { rememberFlagTexts } from "./config_keys.ts";

/**
 * Adds `--config` and `--print-config` to `command`; call it after the
 * other options are defined (their flags' texts are recorded for printing).
 */
export function withConfigFile(command: Command): Command {
  rememberFlagTexts(command);
  return command
    .option("--config <file>", "read options from this TOML file (flags override it)")
    .option("--print-config", "print the effective configuration and exit");
}

/**
 * The options of `command` after it parsed its flags, with `--config`'s
 * file applied beneath them; undefined (the problems printed on stderr, one
 * line each) if the file cannot be used.
 */
export async function configuredOptions(command: Command): Promise<OptionValues | undefined> {
  const file = command.getOptionValue("config") as string | undefined;
  if (file !== undefined) {
    const { applyConfigFile, ConfigFileError, loadConfigFile } = await import(
      "./server_config_file.ts"
    );
    try {
      applyConfigFile(command, await loadConfigFile(file));
    } catch (error) {
      if (!(error instanceof ConfigFileError)) throw error;
      for (const line of error.message.split("\n")) {
        console.error(`dfos: ${command.name()}: ${line}`);
      }
      return undefined;
    }
  }
  return command.opts();
}

/** Prints the effective configuration of `command` on stdout; resolves to exit code 0. */
export async function printConfig(command: Command): Promise<number> {
  const { formatEffectiveConfig } = await import("./print_config.ts");
  const file = command.getOptionValue("config") as string | undefined;
  console.log(formatEffectiveConfig(command, file && resolve(file)).trimEnd());
  return 0;
}
