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
import { runSync, type SyncOptions, type SyncSides } from "../../src/sync/run_sync.ts";
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
  const counts = { remoteReads: 0, loads: 0 };
  const sides = async (): Promise<SyncSides> => {
    const opened = await openSyncSides(context, store, { local, remote }, SILENT_PROGRESS);
    const { state } = opened;
    const [loadRemote, load] = [state.loadRemote.bind(state), state.load.bind(state)];
    state.loadRemote = () => {
      counts.remoteReads++;
      return loadRemote();
    };
    state.load = () => {
      counts.loads++;
      return load();
    };
    return opened;
  };
  /**
   * One run; resolves to whether it read the remembered remote tree, and
   * whether it read the remembered entries (which the quick check does not).
   */
  const run = async (options: Partial<SyncOptions> = {}) => {
    const before = { ...counts };
    const report = await runSync(await sides(), { host: "test", ...options });
    assert.equal(report.execution?.failed.length ?? 0, 0);
    return {
      read: counts.remoteReads > before.remoteReads,
      loaded: counts.loads > before.loads,
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
  assert.equal((await run()).read, true, "its own uploads come back from the journal: read");
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
  await run();
  assert.equal((await run()).read, false, "in step again");

  // A local edit with the same size, and a file touched without a change of content.
  await Deno.writeTextFile(join(local, "one.txt"), "ONE\n");
  await Deno.utime(join(local, "sub", "two.txt"), new Date(), new Date(Date.UTC(2020, 0, 1)));
  assert.equal((await run()).read, true, "the quick check failed: the whole run");
  const cat = await runClient(server, ["cat", "/s/one.txt"]);
  assert.equal(cat.stdout, "ONE\n");

  // A local deletion after the mark.
  await run();
  assert.equal((await run()).read, false);
  await Deno.remove(join(local, "three.txt"));
  assert.equal((await run()).read, true);
  const listed = await runClient(server, ["ls", "/s"]);
  assert.doesNotMatch(listed.stdout, /three\.txt/, "the deletion reached the server");
});

Deno.test("the quick check of the local side lets no change through: content, times, inode, kind, folders, what it cannot sync", async () => {
  await using pair = await setUp("/q");
  const { local, run, server } = pair;
  const file = join(local, "f.txt");
  await Deno.writeTextFile(file, "0123\n");
  await Deno.mkdir(join(local, "d"));
  await Deno.writeTextFile(join(local, "d", "x.txt"), "x\n");
  await run();
  await run();
  const inStep = async (why: string) => {
    await run();
    const again = await run();
    assert.deepEqual([again.read, again.loaded], [false, false], `in step again after ${why}`);
  };
  await inStep("the first runs");
  /** A change made locally: the next run must be a whole one, and carry it to the server. */
  const changed = async (why: string, change: () => Promise<void>, check: () => Promise<void>) => {
    await change();
    const whole = await run();
    assert.equal(whole.loaded, true, `${why}: the entries were loaded`);
    await check();
  };
  const remoteText = async (path: string) => (await runClient(server, ["cat", path])).stdout;
  const remoteList = async (path: string) => (await runClient(server, ["ls", path])).stdout;
  const { mtime } = await Deno.stat(file);

  await changed(
    "an edit of the same size",
    () => Deno.writeTextFile(file, "abcd\n"),
    async () => assert.equal(await remoteText("/q/f.txt"), "abcd\n"),
  );
  await inStep("an edit");

  await changed("an edit of the same size and mtime, as a new file renamed over it", async () => {
    const { mtime } = await Deno.stat(file);
    await Deno.writeTextFile(join(local, "new.tmp"), "wxyz\n");
    await Deno.utime(join(local, "new.tmp"), mtime!, mtime!);
    await Deno.rename(join(local, "new.tmp"), file);
  }, async () => assert.equal(await remoteText("/q/f.txt"), "wxyz\n"));
  await inStep("a new inode");

  await changed(
    "a touch",
    () => Deno.utime(file, mtime!, mtime!),
    async () => assert.equal(await remoteText("/q/f.txt"), "wxyz\n"),
  );
  await inStep("a touch");

  await changed(
    "a new empty folder",
    () => Deno.mkdir(join(local, "e")),
    async () => assert.match(await remoteList("/q"), /\be\//),
  );
  await inStep("a new folder");

  await changed("an empty folder that became a file", async () => {
    await Deno.remove(join(local, "e"));
    await Deno.writeTextFile(join(local, "e"), "e\n");
  }, async () => assert.equal(await remoteText("/q/e"), "e\n"));
  await inStep("a folder that became a file");

  await changed("a file that became a folder", async () => {
    await Deno.remove(join(local, "d", "x.txt"));
    await Deno.mkdir(join(local, "d", "x.txt"));
  }, async () => assert.match(await remoteList("/q/d"), /x\.txt\//));
  await inStep("a file that became a folder");

  await changed(
    "a removed empty folder",
    () => Deno.remove(join(local, "d", "x.txt")),
    async () => assert.doesNotMatch(await remoteList("/q/d"), /x\.txt/),
  );
  await inStep("a removed folder");

  await changed(
    "a symbolic link, which sync skips",
    () => Deno.symlink("f.txt", join(local, "l")),
    async () => {
      assert.doesNotMatch(await remoteList("/q"), /\bl\b/);
    },
  );
  const skipping = await run();
  assert.equal(skipping.loaded, true, "a run that skips a path never takes the quick way");
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
