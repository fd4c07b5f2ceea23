/**
 * Folder sync end to end: a real server, the real client, real folders.
 * Random trees (fixed seeds) changed on one side and on both; the delete
 * guard; ignore rules; a dry run; a rename that moves no bytes; a sync
 * killed part way, client or server.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FOUND_BEHIND_BACK,
  foundBehindBack,
  readAudit,
  runClient,
  serverLogLines,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import {
  changeRandomly,
  readTree,
  type TreeContents,
  versionsOf,
  writeRandomTree,
} from "../helpers/disk_trees.ts";
import { Mulberry32 } from "../helpers/random.ts";
import { sha256, writeLargeFile } from "../helpers/files.ts";

/** A test's own folders: two machines' local folders and a state folder for each. */
async function workspace() {
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-" });
  for (const name of ["a", "b", "state-a", "state-b"]) await Deno.mkdir(join(dir, name));
  return {
    dir,
    a: join(dir, "a"),
    b: join(dir, "b"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Runs `sync ARGS` as machine `machine` ("a" or "b"), from the workspace folder. */
async function sync(server: TestServer, dir: string, machine: "a" | "b", ...args: string[]) {
  const result = await runClient(server, ["sync", ...args], {
    cwd: dir,
    env: { XDG_STATE_HOME: join(dir, `state-${machine}`) },
  });
  return result;
}

async function syncOk(server: TestServer, dir: string, machine: "a" | "b", ...args: string[]) {
  const result = await sync(server, dir, machine, ...args);
  assert.equal(result.code, 0, `sync ${args.join(" ")}: ${result.stderr}`);
  return result;
}

function serverFolder(server: TestServer, path = "docs"): string {
  return join(server.storageDir, "alice", path);
}

function assertSameTree(actual: TreeContents, expected: TreeContents, what: string) {
  const show = (tree: TreeContents) => [...tree].sort().map(([p, h]) => `${p} ${h.slice(0, 8)}`);
  assert.deepEqual(show(actual), show(expected), what);
}

function assertKeeps(tree: TreeContents, versions: Set<string>, what: string) {
  const present = versionsOf(tree);
  for (const version of versions) assert.ok(present.has(version), `${what}: lost ${version}`);
}

Deno.test("one-way sync of random trees changed on the source: the target ends identical", async () => {
  await using server = await startServer();
  for (const seed of [1, 2, 3]) {
    await using space = await workspace();
    const random = new Mulberry32(seed);
    await writeRandomTree(random, space.a, 25);
    await syncOk(server, space.dir, "a", "--push", "a", `/push${seed}`);
    const log: string[] = [];
    for (let index = 0; index < 6; index++) {
      log.push(await changeRandomly(random, space.a, `s${index}`));
    }
    await syncOk(server, space.dir, "a", "--push", "--delete", "--force", "a", `/push${seed}`);
    const why = `seed ${seed}: ${log.join(", ")}`;
    assertSameTree(
      await readTree(serverFolder(server, `push${seed}`)),
      await readTree(space.a),
      why,
    );
    // And back down, into an empty folder, one way.
    await syncOk(server, space.dir, "b", "--pull", "b", `/push${seed}`);
    assertSameTree(await readTree(space.b), await readTree(space.a), `${why} (pulled)`);
  }
});

Deno.test("two machines sync one folder both ways after changing both: identical, every new version kept", async () => {
  await using server = await startServer();
  for (const seed of [11, 12, 13]) {
    await using space = await workspace();
    const random = new Mulberry32(seed);
    const remote = `/both${seed}`;
    await writeRandomTree(random, space.a, 25);
    await syncOk(server, space.dir, "a", "a", remote);
    await syncOk(server, space.dir, "b", "b", remote);
    const before = versionsOf(await readTree(space.a));
    const log: string[] = [];
    for (let index = 0; index < 5; index++) {
      log.push(`a: ${await changeRandomly(random, space.a, `a${index}`)}`);
      log.push(`b: ${await changeRandomly(random, space.b, `b${index}`)}`);
    }
    const fresh = new Set(
      [...versionsOf(await readTree(space.a)), ...versionsOf(await readTree(space.b))]
        .filter((version) => !before.has(version)),
    );
    for (const machine of ["a", "b", "a"] as const) {
      await syncOk(server, space.dir, machine, "--force", machine, remote);
    }
    const why = `seed ${seed}: ${log.join(", ")}`;
    const [a, b] = [await readTree(space.a), await readTree(space.b)];
    assertSameTree(b, a, why);
    assertSameTree(await readTree(serverFolder(server, `both${seed}`)), a, `${why} (server)`);
    assertKeeps(a, fresh, why);
  }
});

Deno.test("a file changed on both machines is kept twice, under its name and a conflict name, and reported", async () => {
  await using server = await startServer();
  await using space = await workspace();
  await Deno.writeTextFile(join(space.a, "notes.txt"), "first\n");
  await syncOk(server, space.dir, "a", "a", "/c");
  await syncOk(server, space.dir, "b", "b", "/c");
  await Deno.writeTextFile(join(space.a, "notes.txt"), "edited on a\n");
  await Deno.writeTextFile(join(space.b, "notes.txt"), "edited on b\n");
  await syncOk(server, space.dir, "a", "a", "/c");
  const result = await syncOk(server, space.dir, "b", "b", "/c");
  assert.match(result.stderr, /conflict: notes\.txt: both sides changed it/);
  await syncOk(server, space.dir, "a", "a", "/c");
  for (const folder of [space.a, space.b, serverFolder(server, "c")]) {
    const names = [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
    assert.equal(names.length, 2, names.join(", "));
    assert.equal(await Deno.readTextFile(join(folder, "notes.txt")), "edited on a\n");
    assert.match(names[0], /^notes\.sync-conflict-\d{8}-\d{6}-.+\.txt$/);
    assert.equal(await Deno.readTextFile(join(folder, names[0])), "edited on b\n");
  }
});

Deno.test("an emptied or removed local folder does not empty the server: the run stops, nothing changes", async () => {
  await using server = await startServer();
  await using space = await workspace();
  for (let index = 0; index < 6; index++) {
    await Deno.writeTextFile(join(space.a, `f${index}.txt`), `file ${index}\n`);
  }
  await syncOk(server, space.dir, "a", "a", "/guarded");
  const before = await readTree(serverFolder(server, "guarded"));
  for (let index = 0; index < 6; index++) await Deno.remove(join(space.a, `f${index}.txt`));
  const emptied = await sync(server, space.dir, "a", "a", "/guarded");
  assert.equal(emptied.code, 1);
  assert.match(emptied.stderr, /would delete 6 of the 6 files it knows on the server.*--force/);
  assertSameTree(await readTree(serverFolder(server, "guarded")), before, "server untouched");
  await Deno.remove(space.a);
  const removed = await sync(server, space.dir, "a", "a", "/guarded");
  assert.equal(removed.code, 1);
  assert.match(removed.stderr, /local folder a was synced before but is not there now/);
  assertSameTree(await readTree(serverFolder(server, "guarded")), before, "server untouched");
});

Deno.test(".dfosignore keeps paths out on both sides, and --dry-run changes nothing anywhere", async () => {
  await using server = await startServer();
  await using space = await workspace();
  await Deno.writeTextFile(join(space.a, ".dfosignore"), "*.log\nbuild/\n");
  await Deno.writeTextFile(join(space.a, "keep.txt"), "kept\n");
  await Deno.writeTextFile(join(space.a, "debug.log"), "noise\n");
  await Deno.mkdir(join(space.a, "build"));
  await Deno.writeTextFile(join(space.a, "build", "out.bin"), "built\n");
  const remoteSide = serverFolder(server, "ign");
  await Deno.mkdir(remoteSide, { recursive: true });
  await Deno.writeTextFile(join(remoteSide, "server.log"), "server noise\n");

  const dry = await syncOk(server, space.dir, "a", "--dry-run", "a", "/ign");
  assert.match(dry.stdout, /push +create +keep\.txt/);
  assert.match(dry.stdout, /push +create +\.dfosignore/);
  assert.doesNotMatch(dry.stdout, /debug\.log|out\.bin|server\.log/);
  assert.deepEqual([...Deno.readDirSync(remoteSide)].map((entry) => entry.name), ["server.log"]);

  await syncOk(server, space.dir, "a", "a", "/ign");
  const names = [...Deno.readDirSync(remoteSide)].map((entry) => entry.name).sort();
  assert.deepEqual(names, [".dfosignore", "keep.txt", "server.log"]);
  assert.ok(!(await readTree(space.a)).has("server.log"), "the server's ignored file stays there");
});

Deno.test("renaming a 100 MiB file moves no file bytes: the server is told to rename it", async () => {
  await using server = await startServer(["--rescan-interval=0.05"]);
  await using space = await workspace();
  await writeLargeFile(join(space.a, "big.bin"), 100 * 1024 * 1024, 9);
  await syncOk(server, space.dir, "a", "a", "/r");
  const uploadsBefore = (await readAudit(server)).filter((record) => record.event === "upload");
  assert.ok(uploadsBefore.some((record) => record.path === "/r/big.bin"), "the first sync sent it");
  await Deno.mkdir(join(space.a, "moved"));
  await Deno.rename(join(space.a, "big.bin"), join(space.a, "moved", "big.bin"));
  await syncOk(server, space.dir, "a", "a", "/r");
  const audit = await readAudit(server);
  assert.equal(audit.filter((record) => record.event === "upload").length, uploadsBefore.length);
  assert.ok(audit.some((record) => record.event === "rename" && record.to === "/r/moved/big.bin"));
  // And the other machine repeats it locally: a rename there too, no download.
  await syncOk(server, space.dir, "b", "b", "/r");
  const bigDownloads = async () =>
    (await readAudit(server)).filter((r) =>
      r.event === "download" && String(r.path).endsWith("big.bin")
    ).length;
  const downloadsBefore = await bigDownloads();
  const found = await serverLogLines(server, FOUND_BEHIND_BACK);
  await Deno.rename(
    join(serverFolder(server, "r"), "moved", "big.bin"),
    join(serverFolder(server, "r"), "big.bin"),
  );
  await foundBehindBack(server, found); // Moved on the server's disk: found in the background.
  await syncOk(server, space.dir, "b", "b", "/r");
  assert.equal(await bigDownloads(), downloadsBefore, "no download of big.bin");
  assert.ok((await Deno.stat(join(space.b, "big.bin"))).isFile);
});

Deno.test("a change on the server's disk that no comparison has found yet is never overwritten nor deleted by a sync", async () => {
  await using server = await startServer(); // Comparisons a minute apart: none during the test.
  await using space = await workspace();
  await Deno.writeTextFile(join(space.a, "edited.txt"), "first version\n");
  await Deno.writeTextFile(join(space.a, "deleted.txt"), "will be deleted here\n");
  await syncOk(server, space.dir, "a", "a", "/r");
  const onServer = serverFolder(server, "r");
  await Deno.writeTextFile(join(onServer, "edited.txt"), "edited on the server's disk\n");
  await Deno.writeTextFile(join(onServer, "deleted.txt"), "edited on the server's disk too\n");
  await Deno.writeTextFile(join(space.a, "edited.txt"), "edited here\n");
  await Deno.remove(join(space.a, "deleted.txt"));
  const run = await sync(server, space.dir, "a", "a", "/r");
  // Each change checks the file on the server first, finds it moved on, and is not made.
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr.match(/changed meanwhile/g)?.length, 2, run.stderr);
  const everywhere = new Set([
    ...versionsOf(await readTree(space.a)),
    ...versionsOf(await readTree(onServer)),
  ]);
  const versions = new Set(versionsOf(await readTree(onServer)));
  for (const text of ["edited on the server's disk\n", "edited on the server's disk too\n"]) {
    const hash = sha256(new TextEncoder().encode(text));
    assert.ok(versions.has(hash), `the server's disk still holds ${JSON.stringify(text)}`);
  }
  assert.ok(
    everywhere.has(sha256(new TextEncoder().encode("edited here\n"))),
    "and the local edit",
  );
  await syncOk(server, space.dir, "a", "a", "/r"); // Once found, the runs agree again.
  assertKeeps(await readTree(space.a), versions, "the local folder after a second run");
});

Deno.test("a sync killed part way (the client, then the server) completes when run again, losing nothing", async () => {
  const serverDir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  let server = await startServer([], serverDir);
  await using space = await workspace();
  try {
    const random = new Mulberry32(77);
    await writeRandomTree(random, space.a, 120);
    await writeLargeFile(join(space.a, "large.bin"), 6 * 1024 * 1024, 3);
    const original = await readTree(space.a);
    const env = { XDG_STATE_HOME: join(space.dir, "state-a") };
    const slow = spawnClient(server, ["--limit-rate=2M", "sync", "a", "/k"], {
      cwd: space.dir,
      env,
    });
    await waitFor(async () =>
      (await readAudit(server)).filter((r) => r.event === "upload").length >= 20
    );
    slow.child.kill("SIGKILL");
    await slow.finish().catch(() => {});
    await syncOk(server, space.dir, "a", "a", "/k");
    assertSameTree(
      await readTree(serverFolder(server, "k")),
      original,
      "after the client was killed",
    );
    assertSameTree(await readTree(space.a), original, "the local side is untouched");

    // Now the other machine pulls, slowly, and the server dies under it.
    const pulling = spawnClient(server, ["--limit-rate=2M", "sync", "b", "/k"], {
      cwd: space.dir,
      env: { XDG_STATE_HOME: join(space.dir, "state-b") },
    });
    await waitFor(async () =>
      (await readAudit(server)).filter((r) => r.event === "download" && r.result === "ok").length >=
        20
    );
    await server.stop("SIGKILL");
    await pulling.finish().catch(() => {});
    server = await startServer([], serverDir);
    await syncOk(server, space.dir, "b", "b", "/k");
    assertSameTree(await readTree(space.b), original, "after the server was killed");
    assertSameTree(await readTree(serverFolder(server, "k")), original, "the server kept it all");
  } finally {
    await server.stop();
    await Deno.remove(serverDir, { recursive: true });
  }
});

Deno.test("a server killed while a sync pushes to it: the run again completes, and both sides agree", async () => {
  const serverDir = await Deno.makeTempDir({ prefix: "dfos-test-" });
  let server = await startServer([], serverDir);
  await using space = await workspace();
  try {
    await writeRandomTree(new Mulberry32(78), space.a, 150);
    await writeLargeFile(join(space.a, "large.bin"), 6 * 1024 * 1024, 4);
    const original = await readTree(space.a);
    const pushing = spawnClient(server, ["--limit-rate=2M", "sync", "a", "/p"], {
      cwd: space.dir,
      env: { XDG_STATE_HOME: join(space.dir, "state-a") },
    });
    await waitFor(async () =>
      (await readAudit(server)).filter((r) => r.event === "upload" && r.result === "ok").length >=
        20
    );
    await server.stop("SIGKILL");
    assert.notEqual(await pushing.finish().catch(() => 1), 0, "the cut run fails");
    server = await startServer([], serverDir);
    await syncOk(server, space.dir, "a", "a", "/p");
    assertSameTree(await readTree(serverFolder(server, "p")), original, "the server has it all");
    assertSameTree(await readTree(space.a), original, "the local side is untouched");
  } finally {
    await server.stop();
    await Deno.remove(serverDir, { recursive: true });
  }
});

Deno.test("--watch on two machines: a change on one appears on the other, and a burst of 1,000 new files all arrive", async () => {
  await using server = await startServer(["--max-sessions-per-user=3"]);
  await using space = await workspace();
  await Deno.writeTextFile(join(space.a, "start.txt"), "start\n");
  const watch = (machine: "a" | "b") =>
    spawnClient(server, ["sync", "--watch", machine, "/w"], {
      cwd: space.dir,
      env: { XDG_STATE_HOME: join(space.dir, `state-${machine}`) },
    });
  const [a, b] = [watch("a"), watch("b")];
  const has = (path: string) => () => Deno.stat(path).then(() => true, () => false);
  try {
    await waitFor(has(join(space.b, "start.txt")), 20_000, "the first run of both");
    const started = performance.now();
    await Deno.writeTextFile(join(space.a, "hello.txt"), "hello from a\n");
    await waitFor(has(join(space.b, "hello.txt")), 20_000, "hello.txt on b");
    console.log(`a change on a reached b in ${Math.round(performance.now() - started)} ms`);
    assert.equal(await Deno.readTextFile(join(space.b, "hello.txt")), "hello from a\n");

    await Deno.mkdir(join(space.a, "burst"));
    for (let index = 0; index < 1000; index++) {
      await Deno.writeTextFile(join(space.a, "burst", `f${index}.txt`), `${index}\n`);
    }
    const count = () => {
      try {
        return [...Deno.readDirSync(join(space.b, "burst"))].filter((e) => !e.name.startsWith("."))
          .length;
      } catch {
        return 0;
      }
    };
    await waitFor(() => Promise.resolve(count() === 1000), 120_000, "all 1,000 files on b");
    assertSameTree(await readTree(space.b), await readTree(space.a), "both machines agree");
  } finally {
    a.child.kill("SIGINT");
    b.child.kill("SIGINT");
    assert.equal(await a.finish(), 130, a.stderr());
    assert.equal(await b.finish(), 130, b.stderr());
  }
});

Deno.test("sync refuses bad folders and flags with a clear message and changes nothing", async () => {
  await using server = await startServer();
  await using space = await workspace();
  await Deno.writeTextFile(join(space.dir, "plain.txt"), "a file, not a folder\n");
  await Deno.mkdir(join(server.storageDir, "alice"), { recursive: true });
  await Deno.writeTextFile(join(server.storageDir, "alice", "remote.txt"), "remote file\n");
  await Deno.mkdir(join(server.storageDir, "alice", "real"));
  await Deno.writeTextFile(join(server.storageDir, "alice", "real", "kept.txt"), "kept\n");
  await Deno.symlink("real", join(server.storageDir, "alice", "alias"));
  await Deno.mkdir(join(space.dir, "empty"));
  const cases: [string[], number, RegExp][] = [
    [["plain.txt", "/x"], 1, /plain\.txt is not a folder/],
    [
      ["empty", "/alias"],
      1,
      /\/alias: reached through a symbolic link \(it is \/real\); name that/,
    ],
    [["a", "/remote.txt"], 1, /\/remote\.txt on the server is not a folder/],
    [["--delete", "a", "/x"], 2, /--delete needs --push or --pull/],
    [["--push", "--pull", "a", "/x"], 2, /--push and --pull exclude each other/],
    [["--max-delete=lots", "a", "/x"], 2, /--max-delete takes a number of files/],
    [["a"], 2, /usage: sync/],
  ];
  for (const [args, code, message] of cases) {
    const result = await sync(server, space.dir, "a", ...args);
    assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, "one line");
  }
  assert.equal(await Deno.readTextFile(join(space.dir, "plain.txt")), "a file, not a folder\n");
  assert.deepEqual([...Deno.readDirSync(join(space.dir, "empty"))], [], "nothing pulled");
  assert.deepEqual(
    [...Deno.readDirSync(join(server.storageDir, "alice"))].map((e) => e.name)
      .filter((name) => name !== ".dfos").sort(),
    ["alias", "real", "remote.txt"],
  );
  assert.deepEqual(
    [...Deno.readDirSync(join(server.storageDir, "alice", "real"))].map((e) => e.name),
    [
      "kept.txt",
    ],
  );
});
