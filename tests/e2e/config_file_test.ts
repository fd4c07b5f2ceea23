/**
 * `dfos server --config FILE` end to end: the real program reads the file,
 * flags override it, `--print-config` shows the result without starting, and
 * every kind of bad file is refused at startup (exit 1, like any other
 * startup error) with the file, the line, the key and the reason, before
 * anything is created.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { collectText, dfosCommand, USERS, waitFor } from "../helpers/processes.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function dfos(args: string[], cwd?: string): Promise<Run> {
  const { code, stdout, stderr } = await dfosCommand(args, { cwd }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A temp folder holding `dfos.toml` with `text`; removed on dispose. */
async function configFolder(text: string | Uint8Array) {
  const dir = await Deno.makeTempDir({ prefix: "dfos-config-" });
  const path = join(dir, "dfos.toml");
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return {
    dir,
    path,
    names: async () => (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const PATHS = 'storage = "store"\nusers = "users.txt"\nlog-dir = "logs"\nstate-dir = "state"\n';

Deno.test("--print-config shows file, flag and default values and their sources, and starts nothing", async () => {
  await using folder = await configFolder(`port = 4000\nmax-clients = 3\n${PATHS}`);
  const run = await dfos(["server", "--config", folder.path, "--print-config", "--port=5000"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  const lines = run.stdout.split("\n");
  for (
    const line of [
      "port = 5000  # flag",
      "max-clients = 3  # file",
      `storage = "${folder.dir}/store"  # file`,
      `log-dir = "${folder.dir}/logs"  # file`,
      "max-queue = 128  # default",
    ]
  ) {
    assert.ok(lines.includes(line), `${line} in\n${run.stdout}`);
  }
  assert.deepEqual(await folder.names(), ["dfos.toml"], "no folder made, no server started");
});

Deno.test("a server takes relative paths in its config file from the file's folder", async () => {
  await using folder = await configFolder(`host = "127.0.0.1"\nport = 0\n${PATHS}`);
  const users = Object.entries(USERS).map(([name, password]) => `${name}:${password}`);
  await Deno.writeTextFile(join(folder.dir, "users.txt"), users.join("\n") + "\n");
  const elsewhere = await Deno.makeTempDir({ prefix: "dfos-cwd-" });
  const child = dfosCommand(["server", "--config", folder.path], { cwd: elsewhere }).spawn();
  const stdout = collectText(child.stdout);
  const stderr = collectText(child.stderr);
  let exited = false;
  child.status.then(() => exited = true);
  try {
    const line = await waitFor(
      () => exited || stderr.text().split("\n").find((line) => line.includes("listening on")),
      20_000,
      "the server to listen",
    );
    assert.equal(typeof line, "string", `the server exited: ${stderr.text()}`);
    assert.match(line as string, new RegExp(`storage ${folder.dir}/store,`));
    assert.ok((await Deno.stat(join(folder.dir, "logs", "server.log"))).isFile);
    assert.ok((await Deno.stat(join(folder.dir, "state", "tls_cert.pem"))).isFile);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(elsewhere)), [], "nothing in the cwd");
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await Promise.all([stdout.done, stderr.done]);
    await Deno.remove(elsewhere, { recursive: true });
    assert.equal(status.code, 0, stderr.text());
  }
});

/** Runs `dfos server --config` on `text`; it must exit 1 with exactly `message` (FILE for the path). */
async function assertRefused(text: string | Uint8Array, message: string) {
  await using folder = await configFolder(text);
  const run = await dfos(["server", "--config", folder.path, "--host=127.0.0.1", "--port=0"]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr, `${message.replaceAll("FILE", folder.path)}\n`);
  assert.deepEqual(await folder.names(), ["dfos.toml"], "nothing was created");
}

Deno.test("an unknown key is refused with the file, its line and the key", async () => {
  await assertRefused(
    `${PATHS}prot = 4000\n`,
    'dfos: server: FILE:5: prot: unknown key (the keys are the long options of "dfos server --help" without "--")',
  );
});

Deno.test("a value of the wrong type is refused, saying what was expected", async () => {
  await assertRefused(
    `${PATHS}max-clients = true\nfsync = "no"\n`,
    "dfos: server: FILE:5: max-clients: wrong type: expected a value for --max-clients <n> (a string or a number), got a boolean\n" +
      "dfos: server: FILE:6: fsync: wrong type: expected true or false, got a string",
  );
});

Deno.test("out-of-range and malformed values are refused for the reasons the flags give", async () => {
  const flag = await dfos(["server", "--port=70000"]);
  assert.match(flag.stderr, /is invalid\. expected a whole number from 0 to 65535/);
  await assertRefused(
    `${PATHS}port = 70000\nquota = "10X"\nshutdown-grace = -1\n`,
    "dfos: server: FILE:5: port: '70000' is invalid: expected a whole number from 0 to 65535\n" +
      "dfos: server: FILE:6: quota: '10X' is invalid: expected a size like 1048576, 500K, 20M or 1.5G\n" +
      "dfos: server: FILE:7: shutdown-grace: '-1' is invalid: expected a positive number of seconds",
  );
});

Deno.test("a TOML syntax error is refused with its line and column", async () => {
  await assertRefused(
    `${PATHS}port = 33000\nhost = "0.0.0.0\n`,
    "dfos: server: FILE:6:16: not valid TOML: control characters are not allowed in strings",
  );
  await assertRefused(
    "port = 1\nport = 2\n",
    "dfos: server: FILE:2:1: not valid TOML: trying to redefine an already defined table or value",
  );
});

Deno.test("a missing, a folder, a non-UTF-8 or an oversized config file is refused", async () => {
  await using folder = await configFolder("");
  const missing = join(folder.dir, "nope.toml");
  const runs = [
    [missing, `dfos: server: cannot read config file ${missing}: no such file`],
    [folder.dir, `dfos: server: ${folder.dir}: a folder, not a config file`],
  ];
  for (const [path, message] of runs) {
    const run = await dfos(["server", "--config", path]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `${message}\n`);
  }
  await assertRefused(
    Uint8Array.of(0x70, 0x3d, 0x22, 0xff, 0x22),
    "dfos: server: FILE: not UTF-8 text",
  );
  await assertRefused(
    "#".repeat(1024 * 1024 + 1),
    "dfos: server: FILE: larger than 1048576 bytes",
  );
});

/** Whether the tests run as root (who may read any file), told by a file of their own. */
function runsAsRoot(): boolean {
  const probe = Deno.makeTempFileSync();
  const uid = Deno.statSync(probe).uid;
  Deno.removeSync(probe);
  return uid === 0;
}

Deno.test({
  name: "a config file the server may not read is refused as such",
  // As root every file is readable: this runs only for an unprivileged user.
  ignore: runsAsRoot(),
  async fn() {
    await using folder = await configFolder("port = 1\n");
    await Deno.chmod(folder.path, 0o000);
    const run = await dfos(["server", "--config", folder.path]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `dfos: server: cannot read config file ${folder.path}: permission denied\n`,
    );
  },
});
