/**
 * The walk of a sync's local folder, here and in a worker: the same
 * listing either way, and the same failure.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { listLocal } from "../../src/sync/local_listing.ts";
import { listInWorker } from "../../src/sync/listing_in_worker.ts";
import { OWN_FILES_ONLY } from "../../src/sync/own_files.ts";

async function sampleFolder(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "dfos-listing-" });
  await Deno.mkdir(join(root, "sub", "deep"), { recursive: true });
  await Deno.mkdir(join(root, "empty"));
  await Deno.writeTextFile(join(root, "a.txt"), "alpha");
  await Deno.writeTextFile(join(root, "sub", "b.txt"), "beta beta");
  await Deno.writeTextFile(join(root, "sub", "deep", "c.txt"), "");
  await Deno.writeTextFile(join(root, "sub", ".c.txt.dfos-part"), "partial");
  await Deno.writeTextFile(join(root, "back\\slash.txt"), "refused");
  await Deno.symlink("a.txt", join(root, "link"));
  return root;
}

Deno.test("a listing made in a worker is the one made on the main thread", async () => {
  const root = await sampleFolder();
  try {
    const here = listLocal(root, OWN_FILES_ONLY);
    const there = await listInWorker(root).result;
    assert.deepEqual(there, here);
    const byPath = new Map(here.paths.map((path, index) => [path, index]));
    assert.deepEqual([...byPath.keys()].sort(), [
      "a.txt",
      "empty",
      "sub",
      "sub/b.txt",
      "sub/deep",
      "sub/deep/c.txt",
    ]);
    const b = byPath.get("sub/b.txt")!;
    const info = Deno.lstatSync(join(root, "sub", "b.txt"));
    assert.equal(here.sizes[b], 9);
    assert.equal(here.mtimesMs[b], info.mtime!.getTime());
    assert.equal(here.inodes[b], info.ino);
    assert.deepEqual(here.skipped.map((skipped) => skipped.path).sort(), [
      "back\\slash.txt",
      "link",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a worker's walk of a missing folder fails with NotFound, as the walk here does", async () => {
  const root = join(await Deno.makeTempDir({ prefix: "dfos-listing-" }), "gone");
  try {
    assert.throws(() => listLocal(root, OWN_FILES_ONLY), Deno.errors.NotFound);
    await assert.rejects(listInWorker(root).result, (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound, `${error.name}: ${error.message}`);
      assert.match(error.message, /gone/);
      return true;
    });
  } finally {
    await Deno.remove(join(root, ".."), { recursive: true });
  }
});

Deno.test("a walk dropped unused stops its worker", async () => {
  const root = await sampleFolder();
  try {
    const walk = listInWorker(root);
    walk.cancel();
    // A worker left running would keep the test (and a sync) from ending.
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
