/**
 * The permission bits of downloaded files, as cp, scp and rsync give them:
 * a new file gets 0o666 less the client's umask, a replaced one (-f) keeps
 * its own, partial files stay private meanwhile; `get -p` and `get -r` keep
 * the source's bits, which the server sends where the client lists `mode`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RUNTIME_FLAGS } from "../../src/cli/permissions.ts";
import { startServer, type TestServer, USERS, waitFor } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import { loginRaw, nextFrame, sendQuietly } from "../helpers/hostile.ts";
import {
  decode,
  encode,
  entryMessages,
  Messages,
  MODE_CAPABILITY,
} from "../../src/protocol/messages.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** `dfos client ARGS` under `umask` (set by sh, which then execs the client). */
function commandUnderUmask(server: TestServer, umask: string, cwd: string, args: string[]) {
  return new Deno.Command("sh", {
    args: [
      "-c",
      'umask "$0" && exec "$@"',
      umask,
      Deno.execPath(),
      "run",
      "--quiet",
      ...RUNTIME_FLAGS,
      MAIN,
      "client",
      "--host=127.0.0.1",
      `--port=${server.port}`,
      "--user=alice",
      "--quiet",
      `--known-hosts=${server.knownHosts}`,
      ...args,
    ],
    cwd,
    env: { DFOS_PASSWORD: USERS.alice },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  });
}

/** Runs `dfos client ARGS` under `umask` to its end. */
async function clientUnderUmask(server: TestServer, umask: string, cwd: string, args: string[]) {
  const { code, stderr } = await commandUnderUmask(server, umask, cwd, args).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

async function modeOf(path: string): Promise<string> {
  return ((await Deno.stat(path)).mode! & 0o7777).toString(8).padStart(4, "0");
}

/** A server whose alice has `a.txt` (mode 0600 on its disk) and a 3 MiB `big.bin`. */
async function serverWithFiles(): Promise<{ server: TestServer; root: string }> {
  const server = await startServer();
  const root = join(server.storageDir, "alice");
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(join(root, "a.txt"), "a", { mode: 0o600 });
  await Deno.writeFile(join(root, "big.bin"), seededBytes(3 * 1024 * 1024, 2));
  return { server, root };
}

Deno.test("a downloaded file gets 0666 less the umask (022: 0644, 077: 0600, 027: 0640), whatever the source's", async () => {
  const { server } = await serverWithFiles();
  await using _server = server;
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  for (const [umask, mode] of [["022", "0644"], ["077", "0600"], ["027", "0640"]]) {
    const get = await clientUnderUmask(server, umask, local, ["get", "a.txt", `a-${umask}.txt`]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(await modeOf(join(local, `a-${umask}.txt`)), mode, `umask ${umask}`);
  }
  assert.deepEqual(
    [...Deno.readDirSync(local)].map((entry) => entry.name).sort(),
    ["a-022.txt", "a-027.txt", "a-077.txt"],
    "no probe or partial file left",
  );
  await Deno.remove(local, { recursive: true });
});

Deno.test("a download's partial stays 0600 while it runs; resumed, the file gets the umask's mode", async () => {
  const { server } = await serverWithFiles();
  await using _server = server;
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const partial = join(local, ".big.bin.dfos-part");
  const slow = commandUnderUmask(server, "022", local, ["--limit-rate=1M", "get", "big.bin"])
    .spawn();
  const sizeOf = (path: string) => Deno.stat(path).then((info) => info.size, () => 0);
  await waitFor(
    async () => (await sizeOf(partial)) > 0 && (await sizeOf(`${partial}.json`)) > 0,
    30_000,
    "the download to start",
  );
  assert.equal(await modeOf(partial), "0600");
  assert.equal(await modeOf(`${partial}.json`), "0600");
  slow.kill("SIGKILL");
  await slow.output();
  const get = await clientUnderUmask(server, "022", local, ["get", "big.bin"]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(await modeOf(join(local, "big.bin")), "0644");
  await Deno.remove(local, { recursive: true });
});

Deno.test("get -f keeps the mode of the file it replaces, as cp does", async () => {
  const { server } = await serverWithFiles();
  await using _server = server;
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeTextFile(join(local, "a.txt"), "old");
  await Deno.chmod(join(local, "a.txt"), 0o604);
  const get = await clientUnderUmask(server, "077", local, ["get", "-f", "a.txt"]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(await Deno.readTextFile(join(local, "a.txt")), "a");
  assert.equal(await modeOf(join(local, "a.txt")), "0604");
  await Deno.remove(local, { recursive: true });
});

Deno.test("get -p keeps the source's permission bits whatever the umask", async () => {
  const { server, root } = await serverWithFiles();
  await using _server = server;
  await Deno.chmod(join(root, "a.txt"), 0o750);
  await Deno.chmod(join(root, "big.bin"), 0o604);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  for (const name of ["a.txt", "big.bin"]) {
    const get = await clientUnderUmask(server, "077", local, ["get", "-p", name]);
    assert.equal(get.code, 0, get.stderr);
  }
  assert.equal(await modeOf(join(local, "a.txt")), "0750");
  assert.equal(await modeOf(join(local, "big.bin")), "0604");
  await Deno.remove(local, { recursive: true });
});

Deno.test("get -r keeps the modes of files and of the folders it makes, as rsync -a; not of folders that were there", async () => {
  const { server, root } = await serverWithFiles();
  await using _server = server;
  const tree = join(root, "tree");
  await Deno.mkdir(join(tree, "bin"), { recursive: true });
  await Deno.mkdir(join(tree, "private"));
  await Deno.writeTextFile(join(tree, "bin/run.sh"), "#!/bin/sh\n");
  await Deno.writeTextFile(join(tree, "private/key"), "k");
  await Deno.writeTextFile(join(tree, "readme"), "r");
  const modes: [string, number][] = [
    ["", 0o755],
    ["bin", 0o751],
    ["bin/run.sh", 0o755],
    ["private", 0o700],
    ["private/key", 0o400],
    ["readme", 0o644],
  ];
  for (const [path, mode] of modes) await Deno.chmod(join(tree, path), mode);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const get = await clientUnderUmask(server, "077", local, ["get", "-r", "tree"]);
  assert.equal(get.code, 0, get.stderr);
  for (const [path, mode] of modes) {
    assert.equal(await modeOf(join(local, "tree", path)), mode.toString(8).padStart(4, "0"), path);
  }

  const into = join(local, "mine");
  await Deno.mkdir(join(into, "tree", "bin"), { recursive: true, mode: 0o700 });
  await Deno.chmod(join(into, "tree", "bin"), 0o700);
  const merge = await clientUnderUmask(server, "022", local, ["get", "-r", "tree", "mine"]);
  assert.equal(merge.code, 0, merge.stderr);
  assert.equal(await modeOf(join(into, "tree", "bin")), "0700", "a folder that was there");
  assert.equal(await modeOf(join(into, "tree", "private")), "0700");
  assert.equal(await modeOf(join(into, "tree", "bin/run.sh")), "0755");
  await Deno.remove(local, { recursive: true });
});

Deno.test("get -r gives a file the source's mode whether or not its partial was made with it", async () => {
  const { server, root } = await serverWithFiles();
  await using _server = server;
  const tree = join(root, "private-tree");
  await Deno.mkdir(tree);
  const modes: [string, number][] = [["owner", 0o600], ["read-only", 0o400], ["shared", 0o644]];
  for (const [name, mode] of modes) {
    await Deno.writeTextFile(join(tree, name), name);
    await Deno.chmod(join(tree, name), mode);
  }
  // Partials are made 0600 less the umask: 0600 under 077 (as the source's "owner"), 0400 under 277.
  for (const umask of ["077", "277"]) {
    const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
    const get = await clientUnderUmask(server, umask, local, ["get", "-r", "private-tree"]);
    assert.equal(get.code, 0, get.stderr);
    for (const [name, mode] of modes) {
      const path = join(local, "private-tree", name);
      assert.equal(
        await modeOf(path),
        mode.toString(8).padStart(4, "0"),
        `${name}, umask ${umask}`,
      );
      assert.equal(await Deno.readTextFile(path), name);
    }
    await Deno.chmod(join(local, "private-tree"), 0o700);
    await Deno.remove(local, { recursive: true });
  }
});

Deno.test("the server sends each entry's mode only to a client that lists the mode capability", async () => {
  const { server, root } = await serverWithFiles();
  await using _server = server;
  await Deno.chmod(join(root, "a.txt"), 0o640);
  for (const capabilities of [[], [MODE_CAPABILITY]]) {
    const session = await loginRaw(server, "alice", 10_000, capabilities);
    try {
      await sendQuietly(session, encode(Messages.Stat, 1, { path: "/a.txt" }));
      const reply = await nextFrame(session, 10_000, "Attributes");
      const { entry } = decode(entryMessages(capabilities.length > 0).Attributes, reply);
      assert.equal(entry.mode, capabilities.length > 0 ? 0o640 : undefined, `[${capabilities}]`);
      await sendQuietly(session, encode(Messages.List, 2, { path: "/" }));
      const listing = decode(
        entryMessages(capabilities.length > 0).Listing,
        await nextFrame(session, 10_000, "Listing"),
      );
      assert.deepEqual(
        listing.entries.map((item) => item.mode),
        capabilities.length > 0 ? [0o640, 0o644] : [undefined, undefined],
      );
    } finally {
      session.close();
    }
  }
});
