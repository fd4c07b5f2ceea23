/**
 * The keys of a config file, derived from a command's options so that every
 * option, present and future, has one: the key is the long flag without its
 * dashes (`--max-clients` is `max-clients`), and a `--no-X` flag is the
 * `false` of key `X` (`--no-fsync` is `fsync = false`). A value from a file
 * goes through the option's own parser, so it is refused for the same reason
 * the flag would be.
 *
 * Also kept here, per command: what was written for each option (the flag's
 * text, the file's value), so the effective configuration can be printed as
 * it was given rather than as parsed (seconds, not milliseconds).
 *
 * @module
 */

import { type Command, InvalidArgumentError, type Option } from "commander";
import { isAbsolute, resolve } from "node:path";

/** Options that say where the configuration comes from, not what it is: never a key. */
export const CONFIG_FILE_OPTIONS: readonly string[] = ["config", "print-config"];

/** The options of one key: the one that takes the value or turns it on, and its `--no-` twin. */
export interface ConfigKey {
  /** The key, e.g. `max-clients`. */
  key: string;
  /** Where commander keeps the value, e.g. `maxClients`. */
  attribute: string;
  /** `--max-clients <n>` or `--quiet`; absent for a lone `--no-fsync`. */
  positive?: Option;
  /** `--no-login-cache`, `--no-fsync`. */
  negative?: Option;
}

/** The key of `option`: its long name without dashes, `no-` dropped from a negating flag. */
export function configKeyOf(option: Option): string {
  return option.negate ? option.name().replace(/^no-/, "") : option.name();
}

/** Every key `command` accepts in a config file, in the order its options were defined. */
export function configKeys(command: Command): Map<string, ConfigKey> {
  const keys = new Map<string, ConfigKey>();
  for (const option of command.options) {
    const key = configKeyOf(option);
    if (CONFIG_FILE_OPTIONS.includes(key)) continue;
    const entry = keys.get(key) ?? { key, attribute: option.attributeName() };
    if (option.negate) entry.negative = option;
    else entry.positive = option;
    keys.set(key, entry);
  }
  return keys;
}

/**
 * Options whose value names a file or folder (`<file>`, `<dir>` or `<path>`
 * in their flags): a relative value in a config file is taken relative to
 * the file's folder.
 */
export function isPathOption(option: Option): boolean {
  return /<(file|dir|path)>/.test(option.flags);
}

/** Options whose value must never be printed (a file that holds a secret is no secret itself). */
export function isSecretOption(option: Option): boolean {
  return /password|secret|token/i.test(option.name()) && !isPathOption(option);
}

/** `SCHEME://USER:PASSWORD@…` */
const URL_WITH_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i;

/** `value` with the password of a URL in it replaced by "(hidden)", for printing. */
export function hideUrlPassword(value: string): string {
  return value.replace(URL_WITH_PASSWORD, "$1(hidden)@");
}

/** A config value of the wrong kind or one its option's parser refused; the message is the reason. */
export class ConfigValueError extends Error {
  override name = "ConfigValueError";
}

/** An option value from a config file, and what the file wrote (with a path resolved). */
export interface ConfigValue {
  value: unknown;
  written: unknown;
}

/**
 * The option value `value` from a config file stands for, as the flag would
 * give it: strings and numbers go through the option's parser (paths first
 * resolved against `baseDir`), booleans turn a flag on or, where a `--no-`
 * twin exists, off. Throws {@link ConfigValueError} with the reason.
 */
export function optionValueOf(
  entry: ConfigKey,
  value: unknown,
  previous: unknown,
  baseDir: string,
): ConfigValue {
  const { positive, negative } = entry;
  if (typeof value === "boolean") {
    if (positive?.isBoolean() || (negative && (!positive || value === false))) {
      return { value, written: value };
    }
    throw new ConfigValueError(`wrong type: expected ${expected(entry)}, got ${kindOf(value)}`);
  }
  const text = typeof value === "string" ? value : numberText(value);
  if (text === undefined || !positive || positive.isBoolean()) {
    throw new ConfigValueError(`wrong type: expected ${expected(entry)}, got ${kindOf(value)}`);
  }
  const path = isPathOption(positive);
  const given = path ? resolvePath(text, baseDir) : text;
  const written = path ? given : value;
  if (!positive.parseArg) return { value: given, written };
  try {
    return { value: positive.parseArg(given, previous), written };
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      throw new ConfigValueError(`'${given}' is invalid: ${error.message}`);
    }
    throw error;
  }
}

/** `text` as a path: relative ones taken from `baseDir`; a `SCHEME://` location as it is. */
export function resolvePath(text: string, baseDir: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  return isAbsolute(text) ? text : resolve(baseDir, text);
}

function numberText(value: unknown): string | undefined {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function expected({ positive, negative }: ConfigKey): string {
  if (!positive || positive.isBoolean()) return "true or false";
  const flag = positive.flags.replace(/^-\w, /, "");
  return negative ? `a value for ${flag}, or false` : `a value for ${flag} (a string or a number)`;
}

/** A TOML value's kind, in words. */
export function kindOf(value: unknown): string {
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "string") return "a string";
  if (typeof value === "number" || typeof value === "bigint") return "a number";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  return "a table";
}

/** Where the effective value of an option came from. */
export type ValueSource = "default" | "file" | "flag";

interface Written {
  value: unknown;
  source: ValueSource;
}

const WRITTEN = new WeakMap<Command, Map<string, Written>>();

/** Records what was written for `attribute` (a flag's text, a file's value). */
export function rememberWritten(command: Command, attribute: string, written: Written): void {
  const map = WRITTEN.get(command) ?? new Map<string, Written>();
  map.set(attribute, written);
  WRITTEN.set(command, map);
}

/** What was written for `attribute` and where, if a flag or a file gave it. */
export function writtenValue(command: Command, attribute: string): Written | undefined {
  return WRITTEN.get(command)?.get(attribute);
}

/**
 * Records, as `command` parses its flags, the text each one was given:
 * call it once the options are defined.
 */
export function rememberFlagTexts(command: Command): void {
  for (const option of command.options) {
    const attribute = option.attributeName();
    command.on(`option:${option.name()}`, (text?: string | null) => {
      const value = typeof text === "string" ? text : !option.negate;
      rememberWritten(command, attribute, { value, source: "flag" });
    });
  }
}
