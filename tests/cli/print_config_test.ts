/**
 * `--print-config`: the effective configuration as a config file, each value
 * as it was written and where it came from; read back, it gives the same
 * configuration.
 */

import assert from "node:assert/strict";
import { resolve } from "node:path";
import { Command } from "commander";
import { parse } from "smol-toml";
import { serverCommand } from "../../src/cli/server_command.ts";
import { formatEffectiveConfig } from "../../src/cli/print_config.ts";
import { configKeys, rememberFlagTexts } from "../../src/cli/config_keys.ts";
import { applyConfigFile } from "../../src/cli/server_config_file.ts";

function parsedServer(args: string[]): Command {
  const command = serverCommand(() => {}).action(() => {}).exitOverride();
  return command.parse(args, { from: "user" });
}

/** The options of `command` without the two that only say where the configuration comes from. */
function settings(command: Command): Record<string, unknown> {
  const { config: _config, printConfig: _print, ...rest } = command.opts();
  return rest;
}

function readBack(text: string): Command {
  const command = parsedServer([]);
  applyConfigFile(command, { path: "/printed/dfos.toml", text, values: parse(text) });
  return command;
}

const FLAGS = [
  "--port=4000",
  "--shutdown-grace=2.5",
  "--quota=10G",
  "--no-login-cache",
  "--no-fsync",
  "-q",
  "--storage=relative/store",
];

Deno.test("--print-config shows each value as written, with its source, paths made absolute", () => {
  const command = parsedServer(FLAGS);
  applyConfigFile(command, {
    path: "/etc/dfos/dfos.toml",
    text: 'port = 1\nmax-clients = 3\nlog-dir = "logs"\n',
    values: { port: 1, "max-clients": 3, "log-dir": "/etc/dfos/logs" },
  });
  const lines = formatEffectiveConfig(command, "/etc/dfos/dfos.toml").split("\n");
  for (
    const line of [
      "port = 4000  # flag",
      "shutdown-grace = 2.5  # flag",
      'quota = "10G"  # flag',
      "login-cache = false  # flag",
      "fsync = false  # flag",
      "quiet = true  # flag",
      `storage = "${resolve("relative/store")}"  # flag`,
      "max-clients = 3  # file",
      'log-dir = "/etc/dfos/logs"  # file',
      "max-queue = 128  # default",
      "idle-timeout = 600  # default",
      "verbose = false  # default",
      `users = "${resolve("id_passwd.txt")}"  # default`,
    ]
  ) {
    assert.ok(lines.includes(line), `${line}\nin:\n${lines.join("\n")}`);
  }
  assert.ok(lines.some((line) => line.startsWith("# max-file-size (not set): ")));
  assert.match(lines[1], /file \/etc\/dfos\/dfos\.toml/);
});

Deno.test("what --print-config prints, read back as a config file, is the same configuration", () => {
  for (const flags of [[], FLAGS]) {
    const command = parsedServer(flags);
    const printed = formatEffectiveConfig(command);
    const again = readBack(printed);
    const expected = settings(command);
    if (typeof expected.storage === "string") expected.storage = resolve(expected.storage);
    for (const key of ["users", "logDir"]) expected[key] = resolve(expected[key] as string);
    // An on/off flag not given is off, and printed so.
    for (const entry of configKeys(command).values()) {
      if (entry.positive?.isBoolean()) expected[entry.attribute] ??= false;
    }
    assert.deepEqual(settings(again), expected, printed);
    const values = (text: string) => text.replace(/ {2}# (default|file|flag)$/gm, "");
    assert.equal(values(formatEffectiveConfig(again)), values(printed));
  }
});

Deno.test("the value of a secret option is never printed, whoever gave it", () => {
  const command = new Command("x").option("--api-token <token>").option("--port <n>")
    .exitOverride();
  rememberFlagTexts(command);
  command.parse(["--api-token=s3cr3t", "--port=1"], { from: "user" });
  const text = formatEffectiveConfig(command);
  assert.doesNotMatch(text, /s3cr3t/);
  const lines = text.split("\n");
  assert.ok(lines.includes("# api-token = (hidden)  # flag"), text);
  assert.ok(lines.includes("port = 1  # flag"), text);
});

Deno.test("the password in a URL (--database) is never printed; the file holding one is only a path", () => {
  const command = parsedServer([
    "--database=postgres://dfos:s3cr3t@db.example:5432/dfos",
    "--database-password-file=/etc/dfos/db-password",
  ]);
  const text = formatEffectiveConfig(command);
  assert.doesNotMatch(text, /s3cr3t/);
  const lines = text.split("\n");
  assert.ok(
    lines.includes(
      '# database = "postgres://dfos:(hidden)@db.example:5432/dfos"  # flag; its password hidden',
    ),
    text,
  );
  assert.ok(lines.includes('database-password-file = "/etc/dfos/db-password"  # flag'), text);
  const bare = formatEffectiveConfig(parsedServer(["--database=postgres://dfos@db.example/dfos"]));
  assert.ok(
    bare.split("\n").includes('database = "postgres://dfos@db.example/dfos"  # flag'),
    bare,
  );
});
