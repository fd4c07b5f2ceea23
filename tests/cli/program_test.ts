/**
 * The command line itself: help, version and usage errors.
 */

import assert from "node:assert/strict";
import { dfosCommand } from "../helpers/processes.ts";

async function dfos(...args: string[]) {
  const { code, stdout, stderr } = await dfosCommand(args).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("--help lists both subcommands and exits 0", async () => {
  const result = await dfos("--help");
  assert.equal(result.code, 0);
  assert.match(result.stdout, /server/);
  assert.match(result.stdout, /client/);
});

Deno.test("dfos with no arguments prints the help on stderr and exits 2, a usage error", async () => {
  const bare = await dfos();
  const asked = await dfos("--help");
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, "");
  assert.equal(bare.stderr, asked.stdout);
  const user = await dfos("user");
  assert.equal(user.code, 2);
  assert.match(user.stderr, /add/);
  for (const args of [["help"], ["help", "user"], ["user", "--help"]]) {
    assert.equal((await dfos(...args)).code, 0, args.join(" "));
  }
});

Deno.test("--version prints the version from deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const result = await dfos("--version");
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), config.version);
});

Deno.test("an unknown subcommand or a bad option value exits 2 with a dfos: line", async () => {
  const unknown = await dfos("frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^dfos: /);
  const badPort = await dfos("server", "--port", "70000");
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /^dfos: option '--port <port>' argument '70000' is invalid/);
  const badCount = await dfos("server", "--max-clients", "0");
  assert.equal(badCount.code, 2);
});

Deno.test("a server whose users file is missing exits 1 and says why", async () => {
  const dir = await Deno.makeTempDir();
  const result = await dfos(
    "server",
    "--port=0",
    "--host=127.0.0.1",
    `--users=${dir}/nope.txt`,
    `--storage=${dir}/s`,
    `--log-dir=${dir}/l`,
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /users file .*nope\.txt not found/);
  await Deno.remove(dir, { recursive: true });
});
