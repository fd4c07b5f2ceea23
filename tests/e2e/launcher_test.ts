/**
 * `./dfos`, the launcher that stands in for the compiled binary: it runs from
 * any folder (also through a symbolic link), takes relative paths from where
 * it is called, adds nothing to stderr, and hands over exit codes and signals.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  collectText,
  startServer,
  type TestServer,
  USERS,
  waitFor,
  within,
} from "../helpers/processes.ts";

const LAUNCHER = new URL("../../dfos", import.meta.url).pathname;
const REPOSITORY = new URL("../..", import.meta.url).pathname;

/** A folder outside the repository with `bin/dfos`, a symbolic link to the launcher. */
async function elsewhere(): Promise<{ dir: string; dfos: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "dfos-launcher-" });
  await Deno.mkdir(join(dir, "bin"));
  await Deno.symlink(LAUNCHER, join(dir, "bin", "dfos"));
  return {
    dir,
    dfos: join(dir, "bin", "dfos"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Runs `dfos client --quiet` for alice on `server` through `launcher`, in `cwd`, as a script
 * would. Quiet, as the program's own notes on a slow login (a busy machine) are not the launcher's.
 */
async function client(launcher: string, cwd: string, server: TestServer, ...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(launcher, {
    args: ["client", `--port=${server.port}`, "--user=alice", `--known-hosts=${server.knownHosts}`]
      .concat("--quiet", args),
    cwd,
    env: { DFOS_PASSWORD: USERS.alice },
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("the launcher, linked from another folder, takes relative paths from there and keeps stderr empty", async () => {
  await using server = await startServer();
  await using place = await elsewhere();
  await Deno.writeTextFile(join(place.dir, "rel.txt"), "from elsewhere\n");

  const put = await client(place.dfos, place.dir, server, "put", "rel.txt");
  assert.deepEqual([put.code, put.stderr], [0, ""]);
  const fetched = await client(place.dfos, place.dir, server, "get", "rel.txt", "copy.txt");
  assert.deepEqual([fetched.code, fetched.stderr], [0, ""]);
  assert.equal(await Deno.readTextFile(join(place.dir, "copy.txt")), "from elsewhere\n");
  await assert.rejects(Deno.stat(join(REPOSITORY, "copy.txt")), Deno.errors.NotFound);
  const listed = await client(place.dfos, place.dir, server, "ls");
  assert.deepEqual([listed.code, listed.stdout, listed.stderr], [0, "rel.txt\n", ""]);
});

Deno.test("the launcher hands over the program's exit codes and its one-line errors", async () => {
  await using server = await startServer();
  await using place = await elsewhere();
  const missing = await client(place.dfos, place.dir, server, "get", "nope.txt");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^dfos: get: [^\n]*nope\.txt[^\n]*\n$/);
  const usage = await client(place.dfos, place.dir, server, "--port=nonsense", "ls");
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^dfos: [^\n]*\n$/);
  const run = (args: string[], env: Record<string, string>) =>
    new Deno.Command(place.dfos, { args, env, stdin: "null", stdout: "null" }).output();
  const denied = await run(
    ["client", `--port=${server.port}`, "--user=alice", `--known-hosts=${server.knownHosts}`, "ls"],
    { DFOS_PASSWORD: "wrong" },
  );
  assert.equal(denied.code, 3);
  const closed = await run(
    [
      "client",
      `--port=${closedPort()}`,
      "--user=alice",
      `--known-hosts=${join(place.dir, "known_hosts")}`,
      "--accept-new-host",
      "ls",
    ],
    { DFOS_PASSWORD: "x" },
  );
  assert.equal(closed.code, 4);
});

Deno.test("the launcher's process is the program's: SIGTERM reaches the server, which exits 0", async () => {
  await using place = await elsewhere();
  await Deno.writeTextFile(join(place.dir, "users.txt"), `alice:${USERS.alice}\n`);
  // Relative paths as the server's defaults would be: they land in the folder it was started in.
  const server = new Deno.Command(place.dfos, {
    args: ["server", "--host=127.0.0.1", "--port=0", "--users=users.txt"],
    cwd: place.dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = collectText(server.stderr);
  let exited = false;
  server.status.then(() => exited = true);
  try {
    await waitFor(
      () => exited || log.text().includes("listening on"),
      20_000,
      "the server to listen",
    );
    assert.ok(!exited, `the server exited at once:\n${log.text()}`);
    server.kill("SIGTERM");
    const status = await server.status;
    assert.deepEqual([status.code, status.signal], [0, null], log.text());
    await within(log.done, 10_000, "the server's stderr to close");
  } finally {
    if (!exited) server.kill("SIGKILL");
    await server.status;
  }
  await Deno.stat(join(place.dir, "server_storage"));
  await Deno.stat(join(place.dir, "logs", "server.log"));
});

/** A loopback port nobody listens on: one just released. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
