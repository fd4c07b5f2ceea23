import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BURST_EVENTS,
  MAX_TOUCHED,
  RECHECK_AFTER_MS,
  TreeWatch,
} from "../../src/storage/tree_watch.ts";

/** A watch of a fresh folder on a clock the test moves. */
async function watched(body: (watch: TreeWatch, root: string, clock: { ms: number }) => void) {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-watch-" }));
  const clock = { ms: 1_000 };
  const watch = TreeWatch.start(root, ".dfos", () => clock.ms);
  assert.ok(watch, "the folder can be watched");
  try {
    body(watch, root, clock);
  } finally {
    watch.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a new watch asks for the whole tree first, then for the paths events named, sorted, once", () =>
  watched((watch, root, clock) => {
    assert.equal(watch.take(), "all");
    assert.deepEqual(watch.take(), [], "nothing touched since");
    watch.notice([join(root, "b.txt")]);
    clock.ms += 10;
    watch.notice([join(root, "a/x.txt"), join(root, "b.txt")]);
    assert.deepEqual(watch.take(), ["/a/x.txt", "/b.txt"]);
    assert.deepEqual(watch.take(), [], "taken paths are forgotten");
  }));

Deno.test("the private folder, the root itself and paths outside are no one's change", () =>
  watched((watch, root, clock) => {
    watch.take();
    for (const path of [join(root, ".dfos/journal.db"), join(root, ".dfos"), root, "/etc/passwd"]) {
      clock.ms += 10;
      watch.notice([path]);
    }
    clock.ms += 10;
    watch.notice([`${root}x/file`]);
    assert.deepEqual(watch.take(), []);
  }));

Deno.test("a burst fast enough to overflow the runtime's queue asks for the whole tree", () =>
  watched((watch, root, clock) => {
    watch.take();
    for (let index = 0; index < BURST_EVENTS - 1; index++) watch.notice([join(root, `f${index}`)]);
    clock.ms += 100;
    watch.notice([join(root, "late")]);
    assert.equal((watch.take() as string[]).length, BURST_EVENTS, "spread out: paths");
    for (let index = 0; index < BURST_EVENTS; index++) watch.notice([join(root, `g${index}`)]);
    assert.equal(watch.take(), "all", "all at one moment: events may be lost");
    assert.deepEqual(watch.take(), [], "after the full comparison, paths again");
  }));

Deno.test("too many touched paths, a stale comparison, or a closed watch ask for the whole tree", () =>
  watched((watch, root, clock) => {
    watch.take();
    for (let index = 0; index <= MAX_TOUCHED; index++) {
      clock.ms += 10;
      watch.notice([join(root, `f${index}`)]);
    }
    assert.equal(watch.take(), "all", "more paths than it keeps");
    clock.ms += RECHECK_AFTER_MS + 1;
    assert.equal(watch.take(), "all", "the last full comparison is old");
    assert.deepEqual(watch.take(), []);
    watch.close();
    assert.equal(watch.take(), "all", "closed: it cannot vouch for anything");
    assert.equal(watch.take(), "all");
  }));

Deno.test("real changes in the folder reach the watch", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-watch-" }));
  const watch = TreeWatch.start(root, ".dfos")!;
  try {
    assert.equal(watch.take(), "all");
    await Deno.mkdir(join(root, "d"));
    await Deno.writeTextFile(join(root, "d", "new.txt"), "x");
    const seen = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (!seen.has("/d/new.txt") && Date.now() < deadline) {
      const taken = watch.take();
      if (taken !== "all") taken.forEach((path) => seen.add(path));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(seen.has("/d"), "the folder made");
    assert.ok(seen.has("/d/new.txt"), "the file written in it");
  } finally {
    watch.close();
    await Deno.remove(root, { recursive: true });
  }
});
