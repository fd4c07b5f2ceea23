/**
 * `get -r` and `put -r` onto a tree that is already there: without -f every
 * file whose target exists is refused and named, folders that were there
 * keep their times to the nanosecond, and the command exits 1 saying what
 * it refused; files and folders that were missing still arrive.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";
import { snapshotTree } from "../helpers/files.ts";

/** Every entry below `root` (itself as "") → "mtime with nanoseconds, size", read by find(1). */
async function exactTimes(root: string): Promise<Map<string, string>> {
  const { stdout } = await new Deno.Command("find", { args: [root, "-printf", "%P\t%T@ %s\n"] })
    .output();
  const lines = new TextDecoder().decode(stdout).split("\n").filter(Boolean);
  return new Map(lines.map((line) => line.split("\t") as [string, string]));
}

/** Sets the mtime of `paths` to a time with nanoseconds, which no copy of a listing gives. */
async function touchExactly(paths: string[]): Promise<void> {
  const args = ["-h", "-m", "-d", "@1000000000.123456789", ...paths];
  assert.ok((await new Deno.Command("touch", { args }).output()).success);
}

async function makeTree(root: string): Promise<void> {
  await Deno.mkdir(join(root, "docs/deep"), { recursive: true });
  await Deno.mkdir(join(root, "empty"), { recursive: true });
  await Deno.writeTextFile(join(root, "a.txt"), "a");
  await Deno.writeTextFile(join(root, "docs/b.txt"), "b");
  await Deno.writeTextFile(join(root, "docs/deep/c.txt"), "c");
}

Deno.test("get -r onto the same tree locally refuses every file, names them, changes nothing, exits 1", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const tree = join(local, "tree");
  await makeTree(tree);
  assert.equal((await runClient(server, ["put", "-r", "tree"], { cwd: local })).code, 0);
  await touchExactly([tree, join(tree, "docs"), join(tree, "docs/deep"), join(tree, "empty")]);
  const before = await exactTimes(tree);

  const get = await runClient(server, ["get", "-r", "tree"], { cwd: local });
  assert.equal(get.code, 1);
  assert.equal(
    get.stderr,
    "dfos: get: a.txt: already exists locally\n" +
      "dfos: get: docs/b.txt: already exists locally\n" +
      "dfos: get: docs/deep/c.txt: already exists locally\n" +
      "dfos: get: refused 3 files that already exist locally (use -f to replace them)\n",
  );
  assert.deepEqual(await exactTimes(tree), before, "not a file or folder time changed");
  await Deno.remove(local, { recursive: true });
});

Deno.test("get -r into a tree partly there copies what is missing and refuses the rest; -f replaces", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await makeTree(join(local, "tree"));
  assert.equal((await runClient(server, ["put", "-r", "tree"], { cwd: local })).code, 0);
  const target = join(local, "copy", "tree");
  await Deno.mkdir(join(target, "docs/deep"), { recursive: true });
  await Deno.writeTextFile(join(target, "docs/deep/c.txt"), "mine");
  await touchExactly([join(target, "docs/deep/c.txt"), join(target, "docs/deep")]);
  const before = await exactTimes(target);

  const get = await runClient(server, ["get", "-r", "tree", "copy"], { cwd: local });
  assert.equal(get.code, 1);
  assert.equal(
    get.stderr,
    "dfos: get: docs/deep/c.txt: already exists locally\n" +
      "dfos: get: refused 1 file that already exists locally (use -f to replace it)\n",
  );
  assert.equal(await Deno.readTextFile(join(target, "docs/deep/c.txt")), "mine");
  assert.equal(await Deno.readTextFile(join(target, "docs/b.txt")), "b");
  assert.equal(await Deno.readTextFile(join(target, "a.txt")), "a");
  const after = await exactTimes(target);
  // The folder nothing arrived in keeps its time; the others changed as any new entry changes them.
  for (const path of ["docs/deep", "docs/deep/c.txt"]) {
    assert.equal(after.get(path), before.get(path), `${path} kept its time`);
  }
  const remote = await snapshotTree(join(server.storageDir, "alice", "tree"));
  const copied = await snapshotTree(target);
  for (const path of ["empty", "a.txt", "docs/b.txt"]) {
    assert.equal(copied.get(path), remote.get(path), `${path} arrived with the source's time`);
  }

  const forced = await runClient(server, ["get", "-r", "-f", "tree", "copy"], { cwd: local });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(await Deno.readTextFile(join(target, "docs/deep/c.txt")), "c");
  assert.deepEqual(await snapshotTree(target), remote, "-f makes it a copy, folder times too");
  await Deno.remove(local, { recursive: true });
});

Deno.test("put -r onto the same tree on the server refuses every file and changes nothing there", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await makeTree(join(local, "tree"));
  assert.equal((await runClient(server, ["put", "-r", "tree"], { cwd: local })).code, 0);
  const stored = join(server.storageDir, "alice", "tree");
  await touchExactly([stored, join(stored, "docs"), join(stored, "docs/deep")]);
  const before = await exactTimes(stored);

  const put = await runClient(server, ["put", "-r", "tree"], { cwd: local });
  assert.equal(put.code, 1);
  assert.equal(
    put.stderr,
    "dfos: put: a.txt: already exists on the server\n" +
      "dfos: put: docs/b.txt: already exists on the server\n" +
      "dfos: put: docs/deep/c.txt: already exists on the server\n" +
      "dfos: put: refused 3 files that already exist on the server (use -f to replace them)\n",
  );
  assert.deepEqual(await exactTimes(stored), before, "not a file or folder time changed");
  await Deno.remove(local, { recursive: true });
});

Deno.test("a folder of the tree whose name is a file on the other side fails alone: the file is kept, the rest arrives, exit 1", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await makeTree(join(local, "tree"));
  await Deno.writeTextFile(join(local, "keep.txt"), "kept");
  assert.equal((await runClient(server, ["mkdir", "/tree"])).code, 0);
  assert.equal(
    (await runClient(server, ["put", "keep.txt", "/tree/docs"], { cwd: local })).code,
    0,
  );

  const put = await runClient(server, ["put", "-r", "tree", "/"], { cwd: local });
  assert.equal(put.code, 1);
  assert.match(put.stderr, /^dfos: put: docs: \/tree\/docs: already exists$/m);
  assert.match(put.stderr, /^dfos: put: \d of \d+ files failed$/m);
  assert.equal((await runClient(server, ["cat", "/tree/docs"])).stdout, "kept");
  assert.equal((await runClient(server, ["cat", "/tree/a.txt"])).stdout, "a");
  assert.equal((await runClient(server, ["ls", "/tree/empty"])).code, 0);

  const into = join(local, "into");
  await Deno.mkdir(join(into, "tree"), { recursive: true });
  await Deno.writeTextFile(join(into, "tree/empty"), "kept here");
  const get = await runClient(server, ["get", "-r", "/tree", "into/"], { cwd: local });
  assert.equal(get.code, 1);
  assert.match(get.stderr, /^dfos: get: empty: .*tree\/empty: exists and is not a directory$/m);
  assert.equal(await Deno.readTextFile(join(into, "tree/empty")), "kept here");
  assert.equal(await Deno.readTextFile(join(into, "tree/a.txt")), "a");
  await Deno.remove(local, { recursive: true });
});
