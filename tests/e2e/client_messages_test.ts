/**
 * The client's one-line messages for the mistakes people make and the
 * events they meet: a file name that looks like an option, a target that
 * exists, a local folder that does not, `rm` of a folder, an address with
 * its port, and a server that shuts down under a transfer.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  dfosCommand,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  USERS,
  waitFor,
} from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";

async function sizeOf(path: string): Promise<number> {
  return await Deno.stat(path).then((info) => info.size, () => 0);
}

Deno.test("a server that shuts down under a download: its notice, then 'the server shut down', exit 4, partial kept", async () => {
  await using server = await startServer(["--shutdown-grace=1"]);
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeFile(join(root, "big.bin"), seededBytes(24 * 1024 * 1024, 3));
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const partial = join(local, ".big.bin.dfos-part");
  const download = spawnClient(server, ["--limit-rate=4M", "get", "big.bin"], { cwd: local });
  await waitFor(async () => (await sizeOf(partial)) > 0, 30_000, "the download to start");
  const stopped = server.stop("SIGTERM");
  assert.equal(await download.finish(), 4, download.stderr());
  assert.equal(
    download.stderr(),
    "dfos: server: the server is shutting down; 1 running transfer has 1 s to finish\n" +
      "dfos: get: the server shut down\n",
  );
  assert.equal(await stopped, 0);
  assert.ok((await sizeOf(partial)) > 0, "the partial stays for the next get");
  await Deno.remove(local, { recursive: true });
});

Deno.test("an idle shell whose server shuts down says so", async () => {
  await using server = await startServer();
  const idle = spawnClient(server, []);
  await idle.send("pwd");
  await waitFor(() => idle.stdout().includes("/"), 15_000, "the session");
  assert.equal(await server.stop("SIGTERM"), 0);
  assert.equal(await idle.finish(), 4);
  assert.match(idle.stderr(), /^dfos: connection: the server shut down$/m);
});

/** `dfos client ARGS` with only the trust and password a test server needs: no --host or --port. */
async function clientWith(server: TestServer, args: string[]) {
  const command = dfosCommand(
    ["client", "--user=alice", "--quiet", `--known-hosts=${server.knownHosts}`, ...args],
    { env: { DFOS_PASSWORD: USERS.alice }, signal: AbortSignal.timeout(60_000) },
  );
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("--host HOST:PORT connects to that port; a different --port as well is a usage error", async () => {
  await using server = await startServer();
  const joined = await clientWith(server, [`--host=127.0.0.1:${server.port}`, "pwd"]);
  assert.equal(joined.code, 0, joined.stderr);
  assert.equal(joined.stdout, "/\n");
  const same = await clientWith(server, [
    `--host=127.0.0.1:${server.port}`,
    `--port=${server.port}`,
    "pwd",
  ]);
  assert.equal(same.code, 0, same.stderr);
  const other = server.port === 33000 ? 33001 : 33000;
  const clash = await clientWith(server, [`--host=127.0.0.1:${server.port}`, `--port=${other}`]);
  assert.equal(clash.code, 2);
  assert.equal(
    clash.stderr,
    `dfos: client: --host 127.0.0.1:${server.port} names port ${server.port} but --port says ` +
      `${other}: give the port once\n`,
  );
});

Deno.test("put -dash.txt says the name looks like an option; put -- -dash.txt and put ./-dash.txt upload it", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeTextFile(join(local, "-dash.txt"), "dash\n");
  const refused = await runClient(server, ["put", "-dash.txt"], { cwd: local });
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    'dfos: put: "-dash.txt" looks like an option; to name a file that starts with "-", ' +
      "write ./-dash.txt or put -- before it; usage: put [-r] [-f] LOCAL [REMOTE]\n",
  );
  const root = join(server.storageDir, "alice");
  const dashed = await runClient(server, ["put", "--", "-dash.txt"], { cwd: local });
  assert.equal(dashed.code, 0, dashed.stderr);
  assert.equal(await Deno.readTextFile(join(root, "-dash.txt")), "dash\n");
  const dotted = await runClient(server, ["put", "./-dash.txt", "copy.txt"], { cwd: local });
  assert.equal(dotted.code, 0, dotted.stderr);
  const back = await runClient(server, ["get", "--", "-dash.txt", "back.txt"], { cwd: local });
  assert.equal(back.code, 0, back.stderr);
  assert.equal(await Deno.readTextFile(join(local, "back.txt")), "dash\n");
  await Deno.remove(local, { recursive: true });
});

Deno.test("put onto an existing file says so with the -f hint, small or large, and leaves it as it was", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  // 10 bytes go in one WriteFile; 1 MiB through Write and WriteReady.
  for (const [name, size] of [["small.bin", 10], ["large.bin", 1024 * 1024]] as const) {
    await Deno.writeFile(join(local, name), seededBytes(size, 1));
    await Deno.writeTextFile(join(root, name), "kept");
    const put = await runClient(server, ["put", name], { cwd: local });
    assert.equal(put.code, 1);
    assert.equal(put.stderr, `dfos: put: /${name}: already exists (use -f to replace it)\n`);
    assert.equal(await Deno.readTextFile(join(root, name)), "kept");
  }
  await Deno.remove(local, { recursive: true });
});

Deno.test("get into a local folder that does not exist names the folder, not the partial file", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(join(root, "a.txt"), "a");
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeTextFile(join(local, "file.txt"), "f");
  const missing = await runClient(server, ["get", "a.txt", "nodir/a.txt"], { cwd: local });
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "dfos: get: nodir: no such local directory\n");
  const notFolder = await runClient(server, ["get", "a.txt", "file.txt/a.txt"], { cwd: local });
  assert.equal(notFolder.code, 1);
  assert.equal(notFolder.stderr, "dfos: get: file.txt: not a local directory\n");
  assert.deepEqual([...Deno.readDirSync(local)].map((entry) => entry.name), ["file.txt"]);
  await Deno.remove(local, { recursive: true });
});

Deno.test("rm of a folder names rm -r and rmdir, and removes nothing", async () => {
  await using server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(join(root, "docs"), { recursive: true });
  await Deno.writeTextFile(join(root, "docs", "a.txt"), "a");
  const rm = await runClient(server, ["rm", "docs"]);
  assert.equal(rm.code, 1);
  assert.equal(
    rm.stderr,
    "dfos: rm: docs: is a directory (use rm -r to remove it with all it holds, or rmdir if empty)\n",
  );
  assert.equal(await Deno.readTextFile(join(root, "docs", "a.txt")), "a");
});
