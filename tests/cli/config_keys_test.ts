/**
 * Every option of `dfos server`, present and future, has a config key, and
 * a value from the file goes through that option's parser exactly as the
 * flag's text does. These tests walk the command's own option list, so an
 * option added later is covered without touching them.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Command, type Option } from "commander";
import { serverCommand } from "../../src/cli/server_command.ts";
import {
  CONFIG_FILE_OPTIONS,
  configKeyOf,
  configKeys,
  isPathOption,
} from "../../src/cli/config_keys.ts";
import { applyConfigFile, ConfigFileError } from "../../src/cli/server_config_file.ts";

const BASE = "/srv/config-folder";

/** The server command, parsing `args` without running: actions do nothing, errors throw. */
function parsedServer(args: string[], prepare: (command: Command) => void = () => {}): Command {
  const command = serverCommand(() => {}).action(() => {}).exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  prepare(command);
  command.parse(args, { from: "user" });
  return command;
}

function applyValues(command: Command, values: Record<string, unknown>): void {
  applyConfigFile(command, { path: join(BASE, "dfos.toml"), text: "", values });
}

/** The options of `command` (by default the server's) other than --config and --print-config. */
function configurableOptions(command = serverCommand(() => {})): Option[] {
  return command.options.filter((option) => !CONFIG_FILE_OPTIONS.includes(option.name()));
}

/** Whether `option` takes a value (`--port <port>`), rather than being on/off (`--quiet`, `--no-fsync`). */
function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function flagOf(option: Option): string {
  return option.long ?? option.short!;
}

Deno.test("every server option has a config key: its long flag without dashes, --no-X being X", () => {
  const command = serverCommand(() => {});
  const keys = configKeys(command);
  const options = configurableOptions(command);
  assert.ok(options.length > 30, "the server's options were found");
  for (const option of options) {
    const key = configKeyOf(option);
    assert.equal(key, option.long!.slice(option.negate ? "--no-".length : "--".length));
    const entry = keys.get(key);
    assert.ok(entry, `${option.flags} has key ${key}`);
    assert.equal(entry.attribute, option.attributeName());
    assert.ok(entry.positive === option || entry.negative === option, option.flags);
  }
  for (const meta of CONFIG_FILE_OPTIONS) assert.equal(keys.has(meta), false, meta);
  assert.equal(keys.get("fsync")?.negative?.flags, "--no-fsync");
  assert.equal(keys.get("login-cache")?.positive?.flags, "--login-cache <seconds>");
  assert.equal(keys.get("login-cache")?.negative?.flags, "--no-login-cache");
});

Deno.test("a file's value reaches every option through the option's own parser, as the flag's text does", () => {
  for (const option of configurableOptions().filter(takesValue)) {
    const calls: string[] = [];
    const spy = (command: Command) => {
      const own = command.options.find((candidate) => candidate.flags === option.flags)!;
      own.parseArg = ((text: string) => {
        calls.push(text);
        return { parsed: text };
      }) as Option["parseArg"];
    };
    const text = isPathOption(option) ? "/abs/sample" : "sample-text";
    const fromFlag = parsedServer([`${flagOf(option)}=${text}`], spy);
    const fromFile = parsedServer([], spy);
    applyValues(fromFile, { [configKeyOf(option)]: text });
    const attribute = option.attributeName();
    assert.deepEqual(calls, [text, text], option.flags);
    assert.deepEqual(fromFile.getOptionValue(attribute), fromFlag.getOptionValue(attribute));
    assert.equal(fromFile.getOptionValueSource(attribute), "config");
  }
});

Deno.test("true in a file sets every on/off option as its flag does; false undoes it", () => {
  for (const option of configurableOptions().filter((option) => !takesValue(option))) {
    const key = configKeyOf(option);
    const attribute = option.attributeName();
    const fromFlag = parsedServer([flagOf(option)]).getOptionValue(attribute);
    const fromFile = parsedServer([]);
    applyValues(fromFile, { [key]: !option.negate });
    assert.equal(fromFile.getOptionValue(attribute), fromFlag, option.flags);
    // --no-login-cache is undone by a number of seconds, not by true.
    if (option.negate && configKeys(fromFile).get(key)?.positive) continue;
    const undone = parsedServer([]);
    applyValues(undone, { [key]: option.negate });
    assert.equal(undone.getOptionValue(attribute), option.negate, option.flags);
  }
});

Deno.test("a value the flag's parser refuses is refused from a file for the same reason", () => {
  let checked = 0;
  for (const option of configurableOptions().filter((option) => option.parseArg)) {
    let reason: string | undefined;
    try {
      option.parseArg!("not-a-value!", undefined);
    } catch (error) {
      reason = (error as Error).message;
    }
    if (reason === undefined) continue;
    checked++;
    const command = parsedServer([]);
    const key = configKeyOf(option);
    assert.throws(
      () => applyValues(command, { [key]: "not-a-value!" }),
      (error: Error) =>
        error instanceof ConfigFileError &&
        error.message === `${BASE}/dfos.toml: ${key}: 'not-a-value!' is invalid: ${reason}`,
      option.flags,
    );
    assert.notEqual(command.getOptionValueSource(option.attributeName()), "config", option.flags);
  }
  assert.ok(checked >= 20, `${checked} parsers checked`);
});

Deno.test("options naming a file or folder take relative paths from the config file's folder", () => {
  const paths = configurableOptions().filter(isPathOption).map(configKeyOf);
  assert.deepEqual(paths.sort(), [
    "database-password-file",
    "log-dir",
    "s3-credentials-file",
    "state-dir",
    "storage",
    "tls-cert",
    "tls-key",
    "users",
  ]);
  const command = parsedServer([]);
  applyValues(command, { storage: "data/store", "log-dir": "/var/log/dfos", host: "rel/ative" });
  assert.equal(command.getOptionValue("storage"), `${BASE}/data/store`);
  assert.equal(command.getOptionValue("logDir"), "/var/log/dfos");
  assert.equal(command.getOptionValue("host"), "rel/ative");
  const onStore = parsedServer([]);
  applyValues(onStore, { storage: "s3://dfos-files/team" });
  assert.equal(onStore.getOptionValue("storage"), "s3://dfos-files/team", "a location stays");
});

Deno.test("a flag on the command line wins over the file; the file wins over a default", () => {
  const command = parsedServer(["--port=4000", "--no-fsync", "--shutdown-grace=2"]);
  applyValues(command, { port: 5000, fsync: true, "max-clients": 3, "idle-timeout": 1.5 });
  const options = command.opts();
  assert.equal(options.port, 4000);
  assert.equal(options.fsync, false);
  assert.equal(options.shutdownGrace, 2000);
  assert.equal(options.maxClients, 3);
  assert.equal(options.idleTimeout, 1500);
  assert.equal(options.maxQueue, 128, "a default stays where neither gives a value");
  assert.deepEqual(
    ["port", "fsync", "maxClients", "maxQueue"].map((key) => command.getOptionValueSource(key)),
    ["cli", "cli", "config", "default"],
  );
});

Deno.test("a file's value is checked even where a flag overrides it", () => {
  const command = parsedServer(["--port=4000"]);
  assert.throws(() => applyValues(command, { port: 70000 }), /port: '70000' is invalid/);
});

Deno.test("login-cache takes seconds or false, not true; arrays, tables and dates are refused", () => {
  const command = parsedServer([]);
  applyValues(command, { "login-cache": false });
  assert.equal(command.getOptionValue("loginCache"), false);
  const cases: [string, unknown, RegExp][] = [
    ["login-cache", true, /expected a value for --login-cache <seconds>, or false, got a boolean/],
    ["host", ["a"], /host: wrong type: expected a value for --host <address> .*got an array/],
    ["max-queue", { n: 1 }, /max-queue: wrong type: .*got a table/],
    ["quiet", "yes", /quiet: wrong type: expected true or false, got a string/],
    ["fsync", 1, /fsync: wrong type: expected true or false, got a number/],
    ["port", new Date(0), /port: wrong type: .*got a date/],
  ];
  for (const [key, value, reason] of cases) {
    assert.throws(() => applyValues(parsedServer([]), { [key]: value }), reason, key);
  }
});

Deno.test("unknown keys and --config itself are refused, all problems at once", () => {
  assert.throws(
    () => applyValues(parsedServer([]), { prot: 1, config: "x.toml", port: -1 }),
    (error: Error) => {
      const lines = error.message.split("\n");
      assert.equal(lines.length, 3);
      assert.match(lines[0], /prot: unknown key/);
      assert.match(lines[1], /config: --config is given on the command line only/);
      assert.match(lines[2], /port: '-1' is invalid: expected a whole number from 0 to 65535/);
      return true;
    },
  );
});

Deno.test("the keys of any command follow its options, so an option added later has one too", () => {
  const command = new Command("x").option("--future-flag <n>", "", Number).option("--no-thing")
    .option("-s, --short-too");
  assert.deepEqual([...configKeys(command).keys()], ["future-flag", "thing", "short-too"]);
});
