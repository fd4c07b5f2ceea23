import assert from "node:assert/strict";
import { reconcile, type ReconcileOptions } from "../../src/sync/reconcile.ts";
import { executePlan } from "../../src/sync/executor.ts";
import type { BaseEntry } from "../../src/sync/sync_entry.ts";
import {
  baseOf,
  contents,
  modelFile,
  modelFolder,
  ModelSide,
  modelSides,
  type ModelTree,
  mutate,
  randomTrees,
} from "../helpers/sync_model.ts";
import { Mulberry32 } from "../helpers/random.ts";

const OPTIONS: ReconcileOptions = { host: "laptop", now: new Date("2026-12-01T09:30:00Z") };

/**
 * Runs one sync of the model's trees through the executor, then checks that
 * a second run (from what the first remembered) has nothing left to do.
 */
async function sync(
  local: ModelTree,
  remote: ModelTree,
  base: Map<string, BaseEntry> = baseOf(local, remote),
  options = {},
) {
  const result = await runOnce(local, remote, base, options);
  const again = reconcile(base, local, remote, { ...OPTIONS, ...options });
  const work = again.actions.filter((action) => action.op !== "record" && action.op !== "forget");
  return { plan: result.plan, again: work };
}

async function runOnce(
  local: ModelTree,
  remote: ModelTree,
  base: Map<string, BaseEntry>,
  options = {},
  fail?: () => boolean,
) {
  const plan = reconcile(base, local, remote, { ...OPTIONS, ...options });
  const sides = modelSides(
    new ModelSide(local, true, fail),
    new ModelSide(remote, false, fail),
    base,
  );
  const result = await executePlan(plan, sides);
  if (fail === undefined && result.failed.length > 0) {
    throw new Error(`steps failed: ${result.failed.map((f) => String(f.error)).join("; ")}`);
  }
  return { plan, result };
}

/** File contents first written by an edit (not in the base), which a sync must never lose. */
function newVersions(before: Map<string, string>, ...trees: ModelTree[]): Set<string> {
  const old = new Set(before.values());
  const versions = new Set<string>();
  for (const tree of trees) {
    for (const entry of tree.values()) {
      if (entry.sha256 && !old.has(entry.sha256)) versions.add(entry.sha256);
    }
  }
  return versions;
}

function assertHasVersions(tree: ModelTree, versions: Set<string>, what: string) {
  const present = new Set([...tree.values()].map((entry) => entry.sha256));
  for (const version of versions) assert.ok(present.has(version), `${what} lost ${version}`);
}

function scenario(seed: number, edits: { local: number; remote: number }) {
  const random = new Mulberry32(seed);
  const [local, remote] = randomTrees(random, 12);
  const base = baseOf(local, remote);
  const original = contents(local);
  const log: string[] = [];
  for (let index = 0; index < edits.local; index++) {
    log.push(mutate(random, local, true, `L${index}`));
  }
  for (let index = 0; index < edits.remote; index++) {
    log.push(mutate(random, remote, false, `R${index}`));
  }
  return { local, remote, base, original, log };
}

Deno.test("one side changed, two-way: both sides end as the changed side, and a second run has nothing to do", async () => {
  for (let seed = 1; seed <= 300; seed++) {
    for (const changed of ["local", "remote"] as const) {
      const edits = changed === "local" ? { local: 4, remote: 0 } : { local: 0, remote: 4 };
      const { local, remote, base, log } = scenario(seed, edits);
      const expected = contents(changed === "local" ? local : remote);
      const { plan, again } = await sync(local, remote, base);
      const why = `seed ${seed}: ${log.join(", ")}`;
      assert.deepEqual(contents(local), expected, why);
      assert.deepEqual(contents(remote), expected, why);
      assert.equal(plan.conflicts.length, 0, why);
      assert.deepEqual(again, [], why);
    }
  }
});

Deno.test("one-way push and pull make the target identical to a changed source", async () => {
  for (let seed = 1; seed <= 300; seed++) {
    for (const direction of ["push", "pull"] as const) {
      const edits = direction === "push" ? { local: 4, remote: 0 } : { local: 0, remote: 4 };
      const { local, remote, base, log } = scenario(seed, edits);
      const expected = contents(direction === "push" ? local : remote);
      await sync(local, remote, base, { direction, delete: true });
      const why = `seed ${seed}: ${log.join(", ")}`;
      assert.deepEqual(contents(local), expected, why);
      assert.deepEqual(contents(remote), expected, why);
    }
  }
});

Deno.test("both sides changed, two-way: identical trees, every new version kept, nothing left to do", async () => {
  let conflicts = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const { local, remote, base, original, log } = scenario(seed, { local: 4, remote: 4 });
    const versions = newVersions(original, local, remote);
    const { plan, again } = await sync(local, remote, base);
    const why = `seed ${seed}: ${log.join(", ")}`;
    assert.deepEqual(contents(local), contents(remote), why);
    assertHasVersions(local, versions, why);
    assert.deepEqual(again, [], why);
    conflicts += plan.conflicts.length;
  }
  assert.ok(conflicts > 20, `the random edits made conflicts (${conflicts})`);
});

Deno.test("both sides changed, one-way: the source's changes arrive and no new version on either side is lost", async () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { local, remote, base, original, log } = scenario(seed, { local: 3, remote: 3 });
    const localVersions = newVersions(original, local);
    const remoteVersions = newVersions(original, remote);
    await sync(local, remote, base, { direction: "push", delete: true });
    const why = `seed ${seed}: ${log.join(", ")}`;
    assertHasVersions(remote, localVersions, why);
    assertHasVersions(remote, remoteVersions, why);
    for (const [path, content] of contents(local)) {
      assert.equal(contents(remote).get(path), content, why);
    }
  }
});

function single(content: string, local: boolean): ModelTree {
  return new Map([["a.txt", modelFile(content, local)]]);
}

Deno.test("a file changed differently on both sides keeps the server's version under its name and the local one beside it", async () => {
  const local = single("old", true);
  const remote = single("old", false);
  const base = baseOf(local, remote);
  local.set("a.txt", { ...modelFile("mine", true), inode: local.get("a.txt")!.inode });
  remote.set("a.txt", modelFile("theirs", false));
  const { plan } = await sync(local, remote, base);
  const aside = "a.sync-conflict-20261201-093000-laptop.txt";
  assert.deepEqual(plan.conflicts, [{ path: "a.txt", aside, kept: "remote" }]);
  for (const tree of [local, remote]) {
    assert.deepEqual(contents(tree), new Map([["a.txt", "theirs"], [aside, "mine"]]));
  }
});

Deno.test("a file deleted on one side and changed on the other is restored, not deleted", async () => {
  const local = single("old", true);
  const remote = single("old", false);
  const base = baseOf(local, remote);
  local.delete("a.txt");
  remote.set("a.txt", modelFile("changed", false));
  const { plan } = await sync(local, remote, base);
  assert.equal(plan.actions[0].op, "copy");
  assert.deepEqual(contents(local), new Map([["a.txt", "changed"]]));
  assert.deepEqual(contents(remote), new Map([["a.txt", "changed"]]));
});

Deno.test("a local rename is repeated as a rename on the server: no bytes copied", async () => {
  const local = single("content", true);
  const remote = single("content", false);
  const base = baseOf(local, remote);
  local.set("b.txt", local.get("a.txt")!);
  local.delete("a.txt");
  const { plan } = await sync(local, remote, base);
  assert.deepEqual(plan.actions.map((action) => action.op), ["rename"]);
  assert.deepEqual(contents(remote), new Map([["b.txt", "content"]]));
});

Deno.test("a rename of an empty file is a delete and a create: empty content says nothing", async () => {
  const local = single("", false);
  const remote = single("", false);
  const base = baseOf(local, remote);
  remote.set("b.txt", remote.get("a.txt")!);
  remote.delete("a.txt");
  const { plan } = await sync(local, remote, base);
  assert.deepEqual(plan.actions.map((action) => action.op).sort(), ["copy", "delete"]);
});

Deno.test("a folder on one side and a file on the other: the folder keeps the name", async () => {
  const local: ModelTree = new Map([["x", modelFolder(true)], ["x/in.txt", modelFile("in", true)]]);
  const remote: ModelTree = new Map([["x", modelFile("file", false)]]);
  const { plan } = await sync(local, remote, new Map());
  assert.equal(plan.conflicts[0].kept, "local");
  const aside = plan.conflicts[0].aside;
  for (const tree of [local, remote]) {
    assert.deepEqual(contents(tree), new Map([["x", "/"], ["x/in.txt", "in"], [aside, "file"]]));
  }
});

Deno.test("a one-way push leaves a change made on the server and says so", async () => {
  const local = single("old", true);
  const remote = single("old", false);
  const base = baseOf(local, remote);
  remote.set("a.txt", modelFile("server edit", false));
  remote.set("extra.txt", modelFile("server only", false));
  const { plan } = await sync(local, remote, base, { direction: "push" });
  assert.equal(plan.actions.length, 0);
  assert.deepEqual(plan.kept.map((kept) => kept.path), ["a.txt"]);
  assert.equal(contents(remote).get("extra.txt"), "server only");
});

Deno.test("a mirror (--push --delete) keeps a server edit beside the name and never deletes a file the server created", async () => {
  const local = single("old", true);
  const remote = single("old", false);
  const base = baseOf(local, remote);
  remote.set("a.txt", modelFile("server edit", false));
  remote.set("extra.txt", modelFile("server only", false));
  const { plan } = await sync(local, remote, base, { direction: "push", delete: true });
  assert.equal(plan.conflicts.length, 1);
  assert.equal(contents(remote).get("a.txt"), "old");
  assert.equal(contents(remote).get(plan.conflicts[0].aside), "server edit");
  assert.equal(contents(remote).get("extra.txt"), "server only");
  assert.deepEqual(plan.kept.map((kept) => kept.path), ["extra.txt"]);
});

Deno.test("the first sync of two folders merges them: equal files are remembered, nothing is copied twice", async () => {
  const local: ModelTree = new Map([["same.txt", modelFile("s", true)], [
    "l.txt",
    modelFile("l", true),
  ]]);
  const remote: ModelTree = new Map([["same.txt", modelFile("s", false)], [
    "r.txt",
    modelFile("r", false),
  ]]);
  const { plan } = await sync(local, remote, new Map());
  assert.deepEqual(
    plan.actions.map((action) => `${action.op} ${action.path}`),
    ["copy l.txt", "copy r.txt", "record same.txt"],
  );
  assert.deepEqual(contents(local), contents(remote));
});

Deno.test("steps that fail part way (the path changed meanwhile) lose nothing, and later runs finish the job", async () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { local, remote, base, original, log } = scenario(seed, { local: 4, remote: 4 });
    const versions = newVersions(original, local, remote);
    const random = new Mulberry32(seed * 7919);
    const why = `seed ${seed}: ${log.join(", ")}`;
    let runs = 0;
    for (let failing = true; failing; runs++) {
      assert.ok(runs < 30, `${why}: no convergence`);
      const failRate = runs < 3 ? 0.3 : 0;
      const { result } = await runOnce(
        local,
        remote,
        base,
        {},
        () => random.next() / 2 ** 32 < failRate,
      );
      const both = new Map([...local, ...[...remote].map(([p, e]) => [`remote:${p}`, e] as const)]);
      assertHasVersions(both, versions, `${why} (run ${runs})`);
      failing = result.failed.length > 0 || result.skipped.length > 0;
    }
    assert.deepEqual(contents(local), contents(remote), why);
    assertHasVersions(local, versions, why);
  }
});

Deno.test("options left undefined take their defaults: two-way, no deletes", () => {
  const local: ModelTree = new Map([["mine.txt", modelFile("m", true)]]);
  const plan = reconcile(new Map(), local, new Map(), {
    ...OPTIONS,
    direction: undefined,
    delete: undefined,
  });
  assert.deepEqual(plan.actions.map((action) => `${action.op} ${action.path}`), ["copy mine.txt"]);
});
