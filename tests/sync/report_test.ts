import assert from "node:assert/strict";
import { describePlan, describeTotals, planTotals } from "../../src/sync/report.ts";
import { reconcile } from "../../src/sync/reconcile.ts";
import { baseOf, modelFile, type ModelTree } from "../helpers/sync_model.ts";

Deno.test("a dry run describes each step, each conflict, and the summary it amounts to", () => {
  const local: ModelTree = new Map([["a.txt", modelFile("same", true)], [
    "c.txt",
    modelFile("c", true),
  ]]);
  const remote: ModelTree = new Map([["a.txt", modelFile("same", false)], [
    "c.txt",
    modelFile("c", false),
  ]]);
  const base = baseOf(local, remote);
  local.set("new.txt", modelFile("fresh content", true));
  local.set("c.txt", modelFile("mine", true));
  remote.set("c.txt", modelFile("theirs", false));
  remote.delete("a.txt");
  const plan = reconcile(base, local, remote, {
    host: "pc",
    now: new Date("2026-12-01T10:00:00Z"),
  });
  const aside = "c.sync-conflict-20261201-100000-pc.txt";
  assert.deepEqual(describePlan(plan), [
    `local  keep    c.txt as ${aside}`,
    "local  delete  a.txt",
    `push   create  ${aside} (4 B)`,
    "pull   update  c.txt (6 B)",
    "push   create  new.txt (13 B)",
    `conflict c.txt: the server's version keeps the name, the other is ${aside}`,
  ]);
  const totals = { ...planTotals(plan), seconds: 0.42 };
  assert.equal(
    describeTotals(totals),
    "sent 2 files (17 B), received 1 file (6 B), 0 renames, 1 delete, 1 conflict in 0.4 s",
  );
});
