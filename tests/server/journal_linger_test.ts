/**
 * A user's journal stays open a while after their last session, and its
 * tree is compared with the index when it opens and then again in the
 * background: a later session finds the journal open and does not wait for
 * a comparison of its own, and a change made behind the server's back is
 * found by the next background comparison.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { TreeServices } from "../../src/server/tree_services.ts";
import { within } from "../helpers/processes.ts";

/** A storage whose walks of the root (one per full comparison) and journal openings are counted. */
function counting(storage: Storage) {
  let rootWalks = 0;
  let journalOpenings = 0;
  let walked = (_walk: number) => {};
  const wrapped = new Proxy(storage, {
    get(target, key) {
      if (key === "walk") {
        return (folder: string) => {
          if (folder !== "/") return target.walk(folder);
          const walk = ++rootWalks;
          return walkThenTell(target.walk(folder), () => walked(walk));
        };
      }
      if (key === "openJournal") {
        return () => {
          journalOpenings++;
          return target.openJournal();
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    storage: wrapped,
    rootWalks: () => rootWalks,
    journalOpenings: () => journalOpenings,
    /** Resolves to the number of the next walk of the root read to its end. */
    nextWalkDone: () => new Promise<number>((resolve) => walked = resolve),
  };
}

async function* walkThenTell<T>(walk: AsyncIterable<T>, done: () => void): AsyncGenerator<T> {
  yield* walk;
  done();
}

async function fixture() {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-linger-" }));
  const root = join(base, "alice");
  await Deno.mkdir(join(root, "d"), { recursive: true });
  for (let index = 0; index < 20; index++) {
    await Deno.writeTextFile(join(root, "d", `f${index}.txt`), `${index}\n`);
  }
  return { base, root, [Symbol.asyncDispose]: () => Deno.remove(base, { recursive: true }) };
}

Deno.test("after the last session the journal stays open; a new session waits for no comparison of its own", async () => {
  await using space = await fixture();
  const services = new TreeServices({ rescanMs: Infinity });
  try {
    const first = counting(await LocalStorage.open(space.root));
    const one = await services.openSession("alice", "s1", first.storage);
    await one.index.ready();
    await one.index.ready();
    assert.equal(first.rootWalks(), 1, "once, when the journal opened");
    await one.release();
    const two = await services.openSession("alice", "s2", first.storage);
    try {
      await two.index.ready();
      assert.equal(first.rootWalks(), 1, "not again for the next session");
      assert.equal(first.journalOpenings(), 1, "whose journal is still open");
    } finally {
      await two.release();
    }
  } finally {
    await services.closeAll();
  }
});

Deno.test("while the journal is open its tree is compared again in the background, and an outside edit is found", async () => {
  await using space = await fixture();
  const services = new TreeServices({ rescanMs: 20 });
  try {
    const watched = counting(await LocalStorage.open(space.root));
    const session = await services.openSession("alice", "s1", watched.storage);
    try {
      await session.index.ready();
      const journal = await session.index.journal();
      assert.equal((await journal.lookup("/d/f3.txt"))?.size, 2);
      await Deno.writeTextFile(
        join(space.root, "d", "f3.txt"),
        "edited behind the server's back\n",
      );
      const before = watched.rootWalks();
      // A walk read to its end has recorded what it found; the first begun after the edit finds it.
      let walk = 0;
      for (let waited = 0; walk <= before && waited < 5; waited++) {
        walk = await within(watched.nextWalkDone(), 10_000, "a comparison in the background");
      }
      assert.ok(walk > before, "a comparison began after the edit, with no session asking");
      assert.equal((await journal.lookup("/d/f3.txt"))?.size, 32, "and found it");
    } finally {
      await session.release();
    }
  } finally {
    await services.closeAll();
  }
});
