/**
 * `dfos server --config FILE`: reads a TOML file whose keys are the
 * command's options (see config_keys.ts) and applies its values beneath the
 * flags: a flag given on the command line wins, the file beats a default.
 * Every problem is refused before the server starts, all of them at once,
 * each with the file, the line where smol-toml or the key shows it, the key
 * and the reason. Loaded only when `--config` is given.
 *
 * @module
 */

import type { Command } from "commander";
import { parse, TomlError } from "smol-toml";
import { dirname, resolve } from "node:path";
import {
  CONFIG_FILE_OPTIONS,
  type ConfigKey,
  configKeys,
  type ConfigValue,
  ConfigValueError,
  optionValueOf,
  rememberWritten,
} from "./config_keys.ts";

/** Largest config file read: far beyond any real one, so a wrong path cannot fill memory. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** A config file that cannot be used; `message` holds one line per problem. */
export class ConfigFileError extends Error {
  override name = "ConfigFileError";
}

/** A parsed config file: its absolute path, its text and its top-level values. */
export interface ConfigFile {
  path: string;
  text: string;
  values: Record<string, unknown>;
}

/** Reads and parses `file` (relative to the working folder); throws {@link ConfigFileError}. */
export async function loadConfigFile(file: string): Promise<ConfigFile> {
  const path = resolve(file);
  const text = await readText(path);
  try {
    return { path, text, values: parse(text, { integersAsBigInt: "asNeeded" }) };
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigFileError(`${path}:${error.line}:${error.column}: not valid TOML: ${reason}`);
  }
}

async function readText(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new ConfigFileError(`${path}: a folder, not a config file`);
    if (info.size > MAX_CONFIG_FILE_BYTES) {
      throw new ConfigFileError(`${path}: larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    }
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    throw new ConfigFileError(`cannot read config file ${path}: ${readFailure(error)}`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigFileError(`${path}: not UTF-8 text`);
  }
}

function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Applies `file` to `command` after it parsed its flags: every key must be
 * known and its value valid (checked even where a flag overrides it); values
 * of options no flag gave replace the defaults, with source `config`.
 */
export function applyConfigFile(command: Command, file: ConfigFile): void {
  const keys = configKeys(command);
  const problems: string[] = [];
  const accepted: [ConfigKey, ConfigValue][] = [];
  for (const [key, value] of Object.entries(file.values)) {
    const where = `${file.path}:${lineOf(file.text, key) ?? ""}`.replace(/:$/, "");
    const entry = keys.get(key);
    if (!entry) {
      problems.push(`${where}: ${key}: ${unknownKeyReason(key)}`);
      continue;
    }
    try {
      const previous = command.getOptionValue(entry.attribute);
      accepted.push([entry, optionValueOf(entry, value, previous, dirname(file.path))]);
    } catch (error) {
      if (!(error instanceof ConfigValueError)) throw error;
      problems.push(`${where}: ${key}: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigFileError(problems.join("\n"));
  for (const [entry, { value, written }] of accepted) {
    const source = command.getOptionValueSource(entry.attribute);
    if (source !== undefined && source !== "default") continue;
    command.setOptionValueWithSource(entry.attribute, value, "config");
    rememberWritten(command, entry.attribute, { value: written, source: "file" });
  }
}

function unknownKeyReason(key: string): string {
  if (CONFIG_FILE_OPTIONS.includes(key)) return `--${key} is given on the command line only`;
  return 'unknown key (the keys are the long options of "dfos server --help" without "--")';
}

/** The line (1-based) where top-level `key` is set in `text`, if it can be found. */
export function lineOf(text: string, key: string): number | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^\\s*(?:${escaped}|"${escaped}"|'${escaped}')\\s*[=.]`);
  const index = text.split("\n").findIndex((line) => pattern.test(line));
  if (index >= 0) return index + 1;
  const table = new RegExp(`^\\s*\\[+\\s*(?:${escaped}|"${escaped}"|'${escaped}')\\s*[\\].]`);
  const tableIndex = text.split("\n").findIndex((line) => table.test(line));
  return tableIndex >= 0 ? tableIndex + 1 : undefined;
}
