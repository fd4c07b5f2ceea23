/**
 * A run that found both sides exactly as remembered marks the pair in step,
 * and the next run, if the server reports no change since and the local
 * folder passes the quick check, neither reads the remembered remote tree
 * nor plans. Every change made after the mark still arrives, and a run that
 * leaves the sides apart (a one-way run that does not apply a deletion)
 * does not mark them. Against a real server.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { SILENT_PROGRESS } from "../../src/client/progress.ts";
import { testContext } from "../helpers/sync_context.ts";
import { openSyncSides } from "../../src/sync/remote_folder.ts";
import { runSync, type SyncOptions, type SyncSides, SyncStopped } from "../../src/sync/run_sync.ts";
import { SyncStateStore } from "../../src/sync/state_store.ts";
import { openClient, runClient, startServer } from "../helpers/processes.ts";

/** A server, a state store and a local folder, with runs that count their reads of the remote tree. */
async function setUp(remote: string) {
  const server = await startServer(["--max-sessions-per-user=2"]);
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-in-step-" });
  const store = SyncStateStore.open(join(dir, "sync.db"));
  const context = testContext(await openClient(server));
  const local = join(dir, "local");
  await Deno.mkdir(local);
  const counts = { remoteReads: 0, loads: 0, looked: new Set<string>() };
  const sides = async (): Promise<SyncSides> => {
    const opened = await openSyncSides(context, store, { local, remote }, SILENT_PROGRESS);
    const { state } = opened;
    const [loadRemote, load] = [state.loadRemote.bind(state), state.load.bind(state)];
    const loadPaths = state.loadPaths.bind(state);
    state.loadRemote = () => {
      counts.remoteReads++;
      return loadRemote();
    };
    state.load = () => {
      counts.loads++;
      return load();
    };
    state.loadPaths = (paths) => {
      for (const path of paths) counts.looked.add(path);
      return loadPaths(paths);
    };
    return opened;
  };
  /**
   * One run; resolves to whether it read the remembered remote tree, whether
   * it read all remembered entries (which the quick check does not), and
   * which paths it read the remembered entries of, one by one.
   */
  const run = async (options: Partial<SyncOptions> = {}) => {
    const before = { ...counts };
    counts.looked = new Set();
    const report = await runSync(await sides(), { host: "test", ...options });
    assert.equal(report.execution?.failed.length ?? 0, 0);
    return {
      read: counts.remoteReads > before.remoteReads,
      loaded: counts.loads > before.loads,
      looked: [...counts.looked].sort(),
      report,
    };
  };
  return {
    server,
    dir,
    local,
    run,
    async [Symbol.asyncDispose]() {
      store.close();
      await context.connection.close();
      await server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("after a run that found both sides as remembered, the next reads nothing remembered of the server's tree, and every later change still arrives", async () => {
  await using pair = await setUp("/s");
  const { local, run, server, dir } = pair;
  await Deno.writeTextFile(join(local, "one.txt"), "one\n");
  await Deno.mkdir(join(local, "sub"));
  await Deno.writeTextFile(join(local, "sub", "two.txt"), "two\n");
  await run(); // Sends both.
  // Its own uploads were taken in from the journal at the end of the run that made them.
  const quiet = await run();
  assert.equal(quiet.read, false, "in step, nothing changed since: not read");
  assert.equal(quiet.loaded, false, "the quick check passed: no entries loaded");
  assert.equal(quiet.report.totals.failed, 0);

  // Another client's upload: the journal has it, so the run reads, and pulls it.
  await Deno.writeTextFile(join(dir, "three.txt"), "three\n");
  const put = await runClient(server, ["put", "three.txt", "/s/three.txt"], { cwd: dir });
  assert.equal(put.code, 0, put.stderr);
  assert.equal((await run()).read, true);
  assert.equal(await Deno.readTextFile(join(local, "three.txt")), "three\n");
  assert.equal((await run()).read, false, "in step again: the pull is remembered");

  // A local edit with the same size, and a file touched without a change of content: the run
  // looks at those two alone, the server's tree being as remembered.
  await Deno.writeTextFile(join(local, "one.txt"), "ONE\n");
  await Deno.utime(join(local, "sub", "two.txt"), new Date(), new Date(Date.UTC(2020, 0, 1)));
  const edit = await run();
  assert.deepEqual([edit.read, edit.loaded, edit.looked], [false, false, [
    "one.txt",
    "sub/two.txt",
  ]]);
  const cat = await runClient(server, ["cat", "/s/one.txt"]);
  assert.equal(cat.stdout, "ONE\n");

  // A local deletion after the mark.
  assert.equal((await run()).read, false);
  await Deno.remove(join(local, "three.txt"));
  assert.deepEqual((await run()).looked, ["three.txt"]);
  const listed = await runClient(server, ["ls", "/s"]);
  assert.doesNotMatch(listed.stdout, /three\.txt/, "the deletion reached the server");

  // A change on the server with one here: the whole run, which takes both.
  await Deno.writeTextFile(join(dir, "four.txt"), "four\n");
  const four = await runClient(server, ["put", "four.txt", "/s/four.txt"], { cwd: dir });
  assert.equal(four.code, 0, four.stderr);
  await Deno.writeTextFile(join(local, "five.txt"), "five\n");
  assert.deepEqual((await run()).loaded, true);
  assert.equal(await Deno.readTextFile(join(local, "four.txt")), "four\n");
  assert.equal((await runClient(server, ["cat", "/s/five.txt"])).stdout, "five\n");
  assert.equal((await run()).read, false, "in step again");
});

Deno.test("the quick check of the local side lets no change through: content, times, inode, kind, folders, what it cannot sync", async () => {
  await using pair = await setUp("/q");
  const { local, run, server } = pair;
  const file = join(local, "f.txt");
  await Deno.writeTextFile(file, "0123\n");
  await Deno.mkdir(join(local, "d"));
  await Deno.writeTextFile(join(local, "d", "x.txt"), "x\n");
  await run();
  /** The run after a change took the sides in step again: the next one reads nothing. */
  const inStep = async (why: string) => {
    const next = await run();
    assert.deepEqual([next.read, next.loaded], [false, false], `in step again after ${why}`);
    assert.equal(next.report.plan.actions.length, 0);
  };
  await inStep("the first run");
  /**
   * A change made locally: the next run must look at exactly the paths it
   * touched (reading nothing else remembered), and carry it to the server.
   */
  const changed = async (
    why: string,
    paths: string[],
    change: () => Promise<void>,
    check: () => Promise<void>,
  ) => {
    await change();
    const next = await run();
    assert.deepEqual([next.read, next.loaded, next.looked], [false, false, paths], why);
    await check();
  };
  const remoteText = async (path: string) => (await runClient(server, ["cat", path])).stdout;
  const remoteList = async (path: string) => (await runClient(server, ["ls", path])).stdout;
  const { mtime } = await Deno.stat(file);

  await changed(
    "an edit of the same size",
    ["f.txt"],
    () => Deno.writeTextFile(file, "abcd\n"),
    async () => assert.equal(await remoteText("/q/f.txt"), "abcd\n"),
  );
  await inStep("an edit");

  await changed(
    "an edit of the same size and mtime, as a new file renamed over it",
    ["f.txt"],
    async () => {
      const { mtime } = await Deno.stat(file);
      await Deno.writeTextFile(join(local, "new.tmp"), "wxyz\n");
      await Deno.utime(join(local, "new.tmp"), mtime!, mtime!);
      await Deno.rename(join(local, "new.tmp"), file);
    },
    async () => assert.equal(await remoteText("/q/f.txt"), "wxyz\n"),
  );
  await inStep("a new inode");

  await changed(
    "a touch",
    ["f.txt"],
    () => Deno.utime(file, mtime!, mtime!),
    async () => assert.equal(await remoteText("/q/f.txt"), "wxyz\n"),
  );
  await inStep("a touch");

  await changed(
    "a new empty folder",
    ["e"],
    () => Deno.mkdir(join(local, "e")),
    async () => assert.match(await remoteList("/q"), /\be\//),
  );
  await inStep("a new folder");

  await changed("an empty folder that became a file", ["e"], async () => {
    await Deno.remove(join(local, "e"));
    await Deno.writeTextFile(join(local, "e"), "e\n");
  }, async () => assert.equal(await remoteText("/q/e"), "e\n"));
  await inStep("a folder that became a file");

  await changed("a file that became a folder", ["d/x.txt"], async () => {
    await Deno.remove(join(local, "d", "x.txt"));
    await Deno.mkdir(join(local, "d", "x.txt"));
  }, async () => assert.match(await remoteList("/q/d"), /x\.txt\//));
  await inStep("a file that became a folder");

  await changed(
    "a removed empty folder",
    ["d/x.txt"],
    () => Deno.remove(join(local, "d", "x.txt")),
    async () => assert.doesNotMatch(await remoteList("/q/d"), /x\.txt/),
  );
  await inStep("a removed folder");

  await Deno.symlink("f.txt", join(local, "l"));
  const skipping = await run();
  assert.deepEqual(skipping.report.skipped.map(({ path }) => path), ["l"]);
  assert.equal(skipping.loaded, true, "a run that skips a path never takes the quick way");
  assert.doesNotMatch(await remoteList("/q"), /\bl\b/);
  assert.equal((await run()).loaded, true, "nor does the next");
});

Deno.test("a run that looks only at what changed plans as a whole run would: a move is a rename, a folder's deletion meets the delete guard of all remembered files", async () => {
  await using pair = await setUp("/m");
  const { local, run, server } = pair;
  await Deno.mkdir(join(local, "d"));
  for (let index = 0; index < 10; index++) {
    await Deno.writeTextFile(join(local, "d", `a${index}.txt`), `a${index}\n`);
  }
  await Deno.writeTextFile(join(local, "r.txt"), "moved without its bytes\n");
  await run();
  assert.equal((await run()).read, false, "in step");

  await Deno.mkdir(join(local, "moved"));
  await Deno.rename(join(local, "r.txt"), join(local, "moved", "r2.txt"));
  const moved = await run();
  assert.deepEqual([moved.loaded, moved.looked], [false, ["moved", "moved/r2.txt", "r.txt"]]);
  assert.deepEqual(
    moved.report.plan.actions.map(({ op, path }) => `${op} ${path}`).sort(),
    ["mkdir moved", "rename moved/r2.txt"],
  );
  assert.equal(moved.report.totals.pushed.bytes, 0);
  assert.equal(
    (await runClient(server, ["cat", "/m/moved/r2.txt"])).stdout,
    "moved without its bytes\n",
  );
  assert.doesNotMatch((await runClient(server, ["ls", "/m"])).stdout, /r\.txt/);

  // Ten of the eleven remembered files: past the guard (half of them), though the run read ten.
  await Deno.remove(join(local, "d"), { recursive: true });
  await assert.rejects(run(), SyncStopped);
  assert.match((await runClient(server, ["ls", "/m/d"])).stdout, /a9\.txt/, "nothing deleted");
  const forced = await run({ force: true });
  assert.equal(forced.report.totals.deletes, 11);
  assert.deepEqual((await runClient(server, ["ls", "/m"])).stdout.trim(), "moved/");
  assert.equal((await run()).read, false, "in step after the deletes");
});

Deno.test("a file another client writes while a run carries its changes out still arrives: the run does not take the sides for in step", async () => {
  await using pair = await setUp("/w");
  const { local, run, server, dir } = pair;
  await Deno.writeTextFile(join(local, "a.txt"), "a\n");
  await run();
  assert.equal((await run()).read, false, "in step");
  const putMeanwhile = (name: string) => async () => {
    await Deno.writeTextFile(join(dir, name), `${name}\n`);
    const put = await runClient(server, ["put", "-f", name, `/w/${name}`], { cwd: dir });
    assert.equal(put.code, 0, put.stderr);
  };

  // A run that looks only at the local change (the server's tree as remembered at its start).
  await Deno.writeTextFile(join(local, "b.txt"), "b\n");
  const only = await run({ onPlan: putMeanwhile("x.txt") });
  assert.deepEqual(only.looked, ["b.txt"]);
  const after = await run();
  assert.equal(after.read, true, "the server changed: the whole run");
  assert.equal(await Deno.readTextFile(join(local, "x.txt")), "x.txt\n");

  // A whole run (the server changed before it, too).
  await putMeanwhile("y.txt")();
  await Deno.writeTextFile(join(local, "c.txt"), "c\n");
  const whole = await run({ onPlan: putMeanwhile("z.txt") });
  assert.equal(whole.loaded, true);
  assert.equal(await Deno.readTextFile(join(local, "y.txt")), "y.txt\n");
  await run();
  assert.equal(await Deno.readTextFile(join(local, "z.txt")), "z.txt\n");
  assert.equal((await run()).read, false, "in step at last");

  // A file rewritten on the server (the tree keeping its size) while a whole run, and while a run
  // that looks only at that file (touched here), change nothing of it.
  await putMeanwhile("q.txt")();
  await Deno.writeTextFile(join(local, "c.txt"), "C\n");
  await run({ onPlan: putMeanwhile("a.txt") });
  assert.equal((await run()).read, true, "not taken for in step");
  assert.equal(await Deno.readTextFile(join(local, "a.txt")), "a.txt\n");
  assert.equal((await run()).read, false);
  await Deno.utime(join(local, "b.txt"), new Date(), new Date(Date.UTC(2021, 0, 1)));
  const touched = await run({
    onPlan: async () => {
      await Deno.writeTextFile(join(dir, "b.txt"), "b, on the server\n");
      const put = await runClient(server, ["put", "-f", "b.txt", "/w/b.txt"], { cwd: dir });
      assert.equal(put.code, 0, put.stderr);
    },
  });
  assert.deepEqual(touched.looked, ["b.txt"]);
  await run();
  assert.equal(await Deno.readTextFile(join(local, "b.txt")), "b, on the server\n");

  // A folder removed on the server, its files unchanged here, while a run looks only at a change
  // beside it: the removal of what that run never read still reaches this side.
  await Deno.mkdir(join(local, "k"));
  await Deno.writeTextFile(join(local, "k", "1.txt"), "1\n");
  await Deno.writeTextFile(join(local, "k", "2.txt"), "2\n");
  await run();
  await Deno.writeTextFile(join(local, "b.txt"), "B\n");
  const beside = await run({
    onPlan: async () => {
      const removed = await runClient(server, ["rm", "-r", "/w/k"]);
      assert.equal(removed.code, 0, removed.stderr);
    },
  });
  assert.deepEqual(beside.looked, ["b.txt"]);
  await run();
  await assert.rejects(Deno.stat(join(local, "k")), Deno.errors.NotFound);
  assert.equal((await run()).read, false, "in step again");
  const listed = (await runClient(server, ["ls", "/w"])).stdout;
  for (const name of ["a", "b", "c", "q", "x", "y", "z"]) {
    assert.match(listed, new RegExp(`${name}\\.txt`));
  }
});

Deno.test("a one-way run that leaves the server's deletion unapplied does not mark the sides in step: a two-way run then applies it", async () => {
  await using pair = await setUp("/p");
  const { local, run, server } = pair;
  await Deno.writeTextFile(join(local, "keep.txt"), "keep\n");
  await Deno.writeTextFile(join(local, "gone.txt"), "gone\n");
  await run();
  await run();
  assert.equal((await run()).read, false, "in step");
  const removed = await runClient(server, ["rm", "/p/gone.txt"]);
  assert.equal(removed.code, 0, removed.stderr);

  await run({ direction: "pull" }); // Without --delete: the local copy stays.
  assert.equal(await Deno.readTextFile(join(local, "gone.txt")), "gone\n");
  assert.equal((await run({ direction: "pull" })).read, true, "the sides differ: not in step");
  assert.equal(await Deno.readTextFile(join(local, "gone.txt")), "gone\n");

  assert.equal((await run()).read, true);
  await assert.rejects(Deno.stat(join(local, "gone.txt")), Deno.errors.NotFound);
  assert.equal(await Deno.readTextFile(join(local, "keep.txt")), "keep\n");
});

Deno.test("a run that another run's write overtook does not mark the sides in step: a file that arrived meanwhile is still pulled", async () => {
  await using server = await startServer(["--max-sessions-per-user=3"]);
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-in-step-race-" });
  const path = join(dir, "sync.db");
  const mine = SyncStateStore.open(path);
  const other = SyncStateStore.open(path); // Another process's run of the same pair.
  const contexts = [testContext(await openClient(server)), testContext(await openClient(server))];
  const local = join(dir, "local");
  const folders = { local, remote: "/r" };
  try {
    await Deno.mkdir(local);
    await Deno.writeTextFile(join(local, "a.txt"), "a\n");
    const run = (options: Partial<SyncOptions> = {}) =>
      openSyncSides(contexts[0], mine, folders, SILENT_PROGRESS)
        .then((sides) => runSync(sides, { host: "test", ...options }));
    await run();
    // This run finds nothing to do; before it ends, a file arrives on the server and the other
    // run (a dry run) takes that change into the shared state, and plans to pull it.
    await run({
      onPlan: async (plan) => {
        assert.equal(plan.actions.length, 0);
        await Deno.writeTextFile(join(dir, "x.txt"), "x\n");
        const put = await runClient(server, ["put", "x.txt", "/r/x.txt"], { cwd: dir });
        assert.equal(put.code, 0, put.stderr);
        const sides = await openSyncSides(contexts[1], other, folders, SILENT_PROGRESS);
        const dry = await runSync(sides, { host: "test", dryRun: true });
        assert.deepEqual(dry.plan.actions.map((action) => [action.op, action.path]), [
          ["copy", "x.txt"],
        ]);
      },
    });
    await run();
    assert.equal(await Deno.readTextFile(join(local, "x.txt")), "x\n");
  } finally {
    mine.close();
    other.close();
    for (const context of contexts) await context.connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run that did all it planned succeeds though taking its own writes in fails (the state locked, the connection gone); the next run takes them in", async () => {
  await using server = await startServer(["--max-sessions-per-user=2"]);
  const dir = await Deno.makeTempDir({ prefix: "dfos-sync-in-step-fail-" });
  const store = SyncStateStore.open(join(dir, "sync.db"));
  const context = testContext(await openClient(server));
  const local = join(dir, "local");
  try {
    await Deno.mkdir(local);
    const failing = async (how: "state" | "journal") => {
      const sides = await openSyncSides(context, store, { local, remote: "/f" }, SILENT_PROGRESS);
      if (how === "state") {
        sides.state.updateRemote = () => {
          throw new Error("database is locked");
        };
      } else {
        const { remote } = sides;
        let asked = 0;
        const changesSince = remote.changesSince.bind(remote);
        remote.changesSince = (cursor) => {
          // The run's own question goes through; the one at its end fails.
          if (++asked > 1) return Promise.reject(new Error("the connection was closed"));
          return changesSince(cursor);
        };
      }
      return runSync(sides, { host: "test" });
    };
    for (const [name, how] of [["a.txt", "state"], ["b.txt", "journal"]] as const) {
      await Deno.writeTextFile(join(local, name), `${name}\n`);
      const report = await failing(how);
      assert.equal(report.totals.failed, 0, how);
      assert.equal(report.totals.pushed.files, 1, how);
      assert.equal((await runClient(server, ["cat", `/f/${name}`])).stdout, `${name}\n`, how);
    }
    const sides = await openSyncSides(context, store, { local, remote: "/f" }, SILENT_PROGRESS);
    const next = await runSync(sides, { host: "test" });
    assert.equal(next.plan.actions.length, 0, "the writes were remembered by the runs themselves");
    assert.equal(next.totals.failed, 0);
  } finally {
    store.close();
    await context.connection.close();
    await Deno.remove(dir, { recursive: true });
  }
});
