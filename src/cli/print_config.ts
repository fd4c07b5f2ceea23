/**
 * `dfos server --print-config`: the effective configuration as a TOML config
 * file, one key per option, each with where its value came from (`default`,
 * `file`, `flag`) as a comment. Values are printed as they were written
 * (seconds, sizes like `10G`), paths made absolute, so the output read back
 * with `--config` gives the same configuration. Secret values are never
 * printed.
 *
 * @module
 */

import type { Command, Option } from "commander";
import { stringify } from "smol-toml";
import {
  type ConfigKey,
  configKeys,
  hideUrlPassword,
  isPathOption,
  isSecretOption,
  resolvePath,
  writtenValue,
} from "./config_keys.ts";

/** The effective configuration of `command` (flags parsed, config file applied) as TOML. */
export function formatEffectiveConfig(command: Command, configFile?: string): string {
  const lines = [
    `# dfos ${command.name()}: the effective configuration`,
    `# (after each value, where it came from: default, file${
      configFile ? ` ${configFile}` : ""
    }, or flag)`,
  ];
  for (const entry of configKeys(command).values()) lines.push(formatKey(command, entry));
  return lines.join("\n") + "\n";
}

function formatKey(command: Command, entry: ConfigKey): string {
  const option = (entry.positive ?? entry.negative) as Option;
  const written = writtenValue(command, entry.attribute);
  const source = command.getOptionValueSource(entry.attribute);
  let value: unknown;
  let from: string;
  if (written && source !== "default" && source !== undefined) {
    value = written.value;
    from = written.source;
  } else if (source === "default") {
    value = option.defaultValueDescription ?? command.getOptionValue(entry.attribute);
    from = "default";
  } else if (entry.positive?.isBoolean()) {
    value = false;
    from = "default";
  } else {
    return `# ${entry.key} (not set): ${option.description}`;
  }
  if (isSecretOption(option)) return `# ${entry.key} = (hidden)  # ${from}`;
  if (typeof value === "string" && hideUrlPassword(value) !== value) {
    return `# ${tomlLine(entry.key, hideUrlPassword(value))}  # ${from}; its password hidden`;
  }
  return `${tomlLine(entry.key, tomlValue(value, entry.positive))}  # ${from}`;
}

/** `value` as a TOML value: numbers that read back the same as numbers, paths absolute. */
function tomlValue(value: unknown, option: Option | undefined): unknown {
  if (typeof value !== "string") return value;
  if (option && isPathOption(option)) return resolvePath(value, ".");
  return /^\d+(\.\d+)?$/.test(value) && String(Number(value)) === value ? Number(value) : value;
}

function tomlLine(key: string, value: unknown): string {
  return stringify({ [key]: value }).trim();
}
