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

/** Paths the watch reports until `wanted` is among them (events come on their own time). */
async function seenUntil(watch: TreeWatch, wanted: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const deadline = Date.now() + 10_000;
  while (!seen.has(wanted) && Date.now() < deadline) {
    const taken = watch.take();
    if (taken !== "all") taken.forEach((path) => seen.add(path));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return seen;
}

Deno.test("real changes in a watched folder reach the watch; a folder is watched once named", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-watch-" }));
  const watch = TreeWatch.start(root, ".dfos");
  try {
    assert.equal(watch.take(), "all");
    watch.watchFolders(["/"]);
    await Deno.mkdir(join(root, "d"));
    assert.ok((await seenUntil(watch, "/d")).has("/d"), "the folder made");
    watch.watchFolders(["/d"]);
    await Deno.writeTextFile(join(root, "d", "new.txt"), "x");
    assert.ok((await seenUntil(watch, "/d/new.txt")).has("/d/new.txt"), "the file written in it");
    watch.watchFolders(["/", "/d"], { replacing: true });
    await Deno.writeTextFile(join(root, "d", "again.txt"), "y");
    assert.ok((await seenUntil(watch, "/d/again.txt")).has("/d/again.txt"), "after a replacement");
    assert.deepEqual(watch.take(), [], "the replaced watchers ended without giving up");
  } finally {
    watch.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a link to a folder outside is not followed: nothing there is listed or watched", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-watch-" }));
  const root = join(base, "root");
  const outside = join(base, "outside");
  await Deno.mkdir(root);
  await Deno.mkdir(join(outside, "sub"), { recursive: true });
  await Deno.symlink(outside, join(root, "link"));
  const old = new Date(978307200000);
  await Deno.utime(outside, old, old);
  await Deno.utime(join(outside, "sub"), old, old);
  const watch = TreeWatch.start(root, ".dfos");
  try {
    watch.take();
    watch.watchFolders(["/"]);
    await Deno.writeTextFile(join(outside, "secret.txt"), "x");
    await Deno.writeTextFile(join(root, "mine.txt"), "y");
    const seen = await seenUntil(watch, "/mine.txt");
    assert.ok(seen.has("/mine.txt"));
    assert.ok(![...seen].some((path) => path.startsWith("/link/")), [...seen].join(", "));
    assert.equal((await Deno.stat(join(outside, "sub"))).atime?.getTime(), old.getTime());
  } finally {
    watch.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a folder that cannot be watched makes the watch give up", () =>
  watched((watch) => {
    watch.take();
    watch.watchFolders(["/no-such-folder"]);
    assert.equal(watch.take(), "all");
    assert.equal(watch.take(), "all", "for good");
  }));
