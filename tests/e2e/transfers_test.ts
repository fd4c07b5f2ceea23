/**
 * Bytes in, the same bytes out: sizes at the edges, a 1 GiB file with the
 * server's memory bounded, and whole directory trees.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readAudit, runClient, startServer } from "../helpers/processes.ts";
import { seededBytes, sha256File, snapshotTree, writeLargeFile } from "../helpers/files.ts";

/**
 * Peak resident memory of a process so far, in bytes (Linux VmHWM). Read
 * through grep: Deno guards /proc/<pid> behind --allow-all, which the tests
 * do not get.
 */
async function peakRss(pid: number): Promise<number> {
  const { stdout } = await new Deno.Command("grep", { args: ["VmHWM", `/proc/${pid}/status`] })
    .output();
  return Number(new TextDecoder().decode(stdout).match(/VmHWM:\s+(\d+) kB/)![1]) * 1024;
}

Deno.test("put then get returns byte-identical files of 0, 1 and 1 MiB + 1 bytes", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  for (const size of [0, 1, 1024 * 1024 + 1]) {
    const name = `size-${size}.bin`;
    await Deno.writeFile(join(local, name), seededBytes(size, size + 1));
    const put = await runClient(server, ["put", name], { cwd: local });
    assert.equal(put.code, 0, put.stderr);
    const get = await runClient(server, ["get", name, `back-${name}`], { cwd: local });
    assert.equal(get.code, 0, get.stderr);
    assert.equal(
      await sha256File(join(local, `back-${name}`)),
      await sha256File(join(local, name)),
    );
    assert.equal((await Deno.stat(join(local, `back-${name}`))).size, size);
  }
  assert.deepEqual(
    [...Deno.readDirSync(local)].filter((entry) => entry.name.startsWith(".")),
    [],
    "no partial files left behind",
  );
  await Deno.remove(local, { recursive: true });
});

/**
 * The bound proves streaming: nothing holds the file. It leaves room for
 * what TLS (node:tls) drops: a new buffer per chunk, collected early within
 * a time budget and at once past 64 MB (src/transport/buffer_reclaimer.ts).
 */
Deno.test("a 1 GiB file goes up and down byte-identical while the server stays under 250 MB RSS", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const source = join(local, "big.bin");
  await writeLargeFile(source, 1024 * 1024 * 1024, 11);
  const put = await runClient(server, ["put", "big.bin"], { cwd: local, timeoutMs: 300_000 });
  assert.equal(put.code, 0, put.stderr);
  const get = await runClient(server, ["get", "big.bin", "back.bin"], {
    cwd: local,
    timeoutMs: 300_000,
  });
  assert.equal(get.code, 0, get.stderr);
  const expected = await sha256File(source);
  assert.equal(await sha256File(join(server.storageDir, "alice", "big.bin")), expected);
  assert.equal(await sha256File(join(local, "back.bin")), expected);
  const rss = await peakRss(server.pid);
  assert.ok(rss < 250 * 1024 * 1024, `server peak RSS ${(rss / 1048576).toFixed(1)} MiB`);
  console.log(`server peak RSS over 1 GiB up + down: ${(rss / 1048576).toFixed(1)} MiB`);
  await Deno.remove(local, { recursive: true });
});

async function makeTree(root: string): Promise<void> {
  await Deno.mkdir(join(root, "docs/2026/empty"), { recursive: true });
  await Deno.mkdir(join(root, "empty-top"), { recursive: true });
  await Deno.mkdir(join(root, "with space/ünïcode"), { recursive: true });
  const files: [string, number][] = [
    ["a.txt", 10],
    ["docs/report.pdf", 300_000],
    ["docs/2026/q1.csv", 0],
    ["with space/ünïcode/名前.bin", 70_000],
  ];
  for (let index = 0; index < 200; index++) {
    files.push([`docs/many/small-${index}.txt`, 100 + index]);
  }
  await Deno.mkdir(join(root, "docs/many"), { recursive: true });
  for (const [index, [path, size]] of files.entries()) {
    await Deno.writeFile(join(root, path), seededBytes(size, index + 1));
    const when = new Date(Date.UTC(2024, 0, 1 + (index % 28), 12, 0, index % 60));
    await Deno.utime(join(root, path), when, when);
  }
  // Folders last (writing a file changes its folder's time), each its own time, deepest first.
  const folders = ["docs/2026/empty", "docs/2026", "docs/many", "docs", "empty-top"];
  folders.push("with space/ünïcode", "with space", "");
  for (const [index, folder] of folders.entries()) {
    const when = new Date(Date.UTC(2023, 5, 1 + index, 8, 30, index));
    await Deno.utime(join(root, folder), when, when);
  }
}

Deno.test("put -r and get -r round-trip a tree: paths, sizes, contents, mtimes of files and folders, empty folders", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await makeTree(join(local, "tree"));
  const put = await runClient(server, ["put", "-r", "tree", "uploaded"], { cwd: local });
  assert.equal(put.code, 0, put.stderr);
  const original = await snapshotTree(join(local, "tree"));
  assert.deepEqual(await snapshotTree(join(server.storageDir, "alice", "uploaded")), original);

  const get = await runClient(server, ["get", "-r", "uploaded", "downloaded"], { cwd: local });
  assert.equal(get.code, 0, get.stderr);
  assert.deepEqual(await snapshotTree(join(local, "downloaded")), original);

  const noFlag = await runClient(server, ["get", "uploaded"], { cwd: local });
  assert.equal(noFlag.code, 1);
  assert.match(noFlag.stderr, /is a directory \(use get -r\)/);
  await Deno.remove(local, { recursive: true });
});

Deno.test("put -r refuses a file that is there already, names it, and still copies the rest", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await makeTree(join(local, "tree"));
  assert.equal((await runClient(server, ["mkdir", "-p", "copy/tree"])).code, 0);
  await Deno.writeTextFile(join(local, "clash.txt"), "already there");
  const clash = await runClient(server, ["put", "clash.txt", "copy/tree/a.txt"], { cwd: local });
  assert.equal(clash.code, 0, clash.stderr);
  const put = await runClient(server, ["put", "-r", "tree", "copy"], { cwd: local });
  assert.equal(put.code, 1);
  assert.equal(
    put.stderr,
    "dfos: put: a.txt: already exists on the server\n" +
      "dfos: put: refused 1 file that already exists on the server (use -f to replace it)\n",
  );
  const copied = await snapshotTree(join(server.storageDir, "alice", "copy", "tree"));
  assert.equal(copied.size, 204 + 8, "every file and all 8 folders (the top one too) arrived");
  assert.equal(
    await Deno.readTextFile(join(server.storageDir, "alice/copy/tree/a.txt")),
    "already there",
  );
  await Deno.remove(local, { recursive: true });
});

Deno.test("an interrupted download resumes and a changed source starts over", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  const bytes = seededBytes(3 * 1024 * 1024, 5);
  await Deno.writeFile(join(local, "source.bin"), bytes);
  assert.equal((await runClient(server, ["put", "source.bin", "f.bin"], { cwd: local })).code, 0);
  const info = await Deno.stat(join(server.storageDir, "alice", "f.bin"));
  // Leave what an interrupted download leaves: a partial of the first MiB and its metadata.
  await Deno.writeFile(join(local, ".f.bin.dfos-part"), bytes.subarray(0, 1024 * 1024));
  await Deno.writeTextFile(
    join(local, ".f.bin.dfos-part.json"),
    JSON.stringify({ size: info.size, mtimeMs: info.mtime!.getTime() }),
  );
  assert.equal((await runClient(server, ["get", "f.bin"], { cwd: local })).code, 0);
  assert.equal(await sha256File(join(local, "f.bin")), await sha256File(join(local, "source.bin")));
  const reads = (await readAudit(server)).filter((event) => event.event === "download");
  assert.equal(reads.at(-1)?.bytes, 2 * 1024 * 1024, "only the missing 2 MiB were sent");

  // A partial that claims an older version of the file is thrown away.
  await Deno.writeFile(join(local, ".g.bin.dfos-part"), seededBytes(1024 * 1024, 99));
  await Deno.writeTextFile(
    join(local, ".g.bin.dfos-part.json"),
    JSON.stringify({ size: 1, mtimeMs: 1 }),
  );
  assert.equal((await runClient(server, ["get", "f.bin", "g.bin"], { cwd: local })).code, 0);
  assert.equal(await sha256File(join(local, "g.bin")), await sha256File(join(local, "source.bin")));
  assert.deepEqual([...Deno.readDirSync(local)].map((e) => e.name).sort(), [
    "f.bin",
    "g.bin",
    "source.bin",
  ]);
  await Deno.remove(local, { recursive: true });
});
