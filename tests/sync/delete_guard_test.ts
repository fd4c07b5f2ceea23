import assert from "node:assert/strict";
import { deleteGuard } from "../../src/sync/delete_guard.ts";
import { reconcile } from "../../src/sync/reconcile.ts";
import { baseOf, modelFile, type ModelTree } from "../helpers/sync_model.ts";

function trees(files: number): [ModelTree, ModelTree] {
  const local: ModelTree = new Map();
  const remote: ModelTree = new Map();
  for (let index = 0; index < files; index++) {
    local.set(`f${index}`, modelFile(`c${index}`, true));
    remote.set(`f${index}`, modelFile(`c${index}`, false));
  }
  return [local, remote];
}

const OPTIONS = { host: "h", now: new Date(0) };

Deno.test("an emptied local folder does not empty the server: the guard stops the run", () => {
  const [local, remote] = trees(10);
  const base = baseOf(local, remote);
  const plan = reconcile(base, new Map(), remote, OPTIONS);
  assert.deepEqual(deleteGuard(plan, base), { stop: true, side: "remote", files: 10, of: 10 });
});

Deno.test("the guard lets through up to half the files, and at most 1,000", () => {
  const [local, remote] = trees(10);
  const base = baseOf(local, remote);
  for (let index = 0; index < 5; index++) local.delete(`f${index}`);
  assert.equal(deleteGuard(reconcile(base, local, remote, OPTIONS), base).stop, false);
  local.delete("f5");
  assert.equal(deleteGuard(reconcile(base, local, remote, OPTIONS), base).stop, true);

  const [big, bigRemote] = trees(3000);
  const bigBase = baseOf(big, bigRemote);
  for (let index = 0; index < 1001; index++) big.delete(`f${index}`);
  const verdict = deleteGuard(reconcile(bigBase, big, bigRemote, OPTIONS), bigBase);
  assert.deepEqual(verdict, { stop: true, side: "remote", files: 1001, of: 3000 });
  assert.equal(
    deleteGuard(reconcile(bigBase, big, bigRemote, OPTIONS), bigBase, { maxFiles: 2000 }).stop,
    false,
  );
});
