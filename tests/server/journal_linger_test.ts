/**
 * A user's journal stays open a while after their last session: the next
 * session finds it open, compares the whole tree once, and so finds a change
 * made behind the server's back meanwhile.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { TreeServices } from "../../src/server/tree_services.ts";

/** A storage whose listings of the root are counted (a full comparison lists it), and journal openings. */
function counting(storage: Storage) {
  let rootListings = 0;
  let journalOpenings = 0;
  const wrapped = new Proxy(storage, {
    get(target, key) {
      if (key === "list") {
        return (path: string) => {
          if (path === "/") rootListings++;
          return target.list(path);
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
    rootListings: () => rootListings,
    journalOpenings: () => journalOpenings,
  };
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

Deno.test("after the last session the journal stays open; each new session compares the whole tree once, and finds an outside edit", async () => {
  await using space = await fixture();
  const services = new TreeServices();
  try {
    const first = counting(await LocalStorage.open(space.root));
    const one = await services.openSession("alice", "s1", first.storage);
    await one.index.ready();
    await one.index.ready();
    assert.equal(first.rootListings(), 1, "once for the session that opened it");
    await one.release();
    await Deno.writeTextFile(join(space.root, "d", "f3.txt"), "edited behind the server's back\n");
    const two = await services.openSession("alice", "s2", first.storage);
    try {
      await two.index.ready();
      assert.equal(first.rootListings(), 2, "and once for the next session");
      const journal = await two.index.journal();
      assert.equal((await journal.lookup("/d/f3.txt"))?.size, 32, "which finds the edit");
      assert.equal(first.journalOpenings(), 1, "in the journal still open");
    } finally {
      await two.release();
    }
  } finally {
    await services.closeAll();
  }
});
