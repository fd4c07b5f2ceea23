/**
 * A user's journal stays open a while after their last session: the next
 * session then compares only what the tree watch saw touched, not the
 * whole tree, and still finds a change made behind the server's back.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { TreeServices } from "../../src/server/tree_services.ts";
import { waitFor } from "../helpers/processes.ts";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** A storage whose listings of the root are counted (a full comparison lists it). */
function counting(storage: Storage, withWatch = true) {
  let rootListings = 0;
  const wrapped = new Proxy(storage, {
    get(target, key) {
      if (key === "list") {
        return (path: string) => {
          if (path === "/") rootListings++;
          return target.list(path);
        };
      }
      if (key === "watchTree" && !withWatch) return undefined;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { storage: wrapped, rootListings: () => rootListings };
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

Deno.test("after the last session the journal lingers: the next session compares only what was touched, and finds an outside edit", async () => {
  await using space = await fixture();
  const services = new TreeServices();
  try {
    const first = counting(await LocalStorage.open(space.root));
    const one = await services.openSession("alice", "s1", first.storage);
    await one.index.ready();
    assert.equal(first.rootListings(), 1, "the journal opened: the whole tree compared");
    await one.storage.writeFile("/d/mine.txt", new TextEncoder().encode("mine"), {
      mtimeMs: 1_700_000_000_000,
      sha256Hex: sha("mine"),
    });
    await one.release();

    await Deno.writeTextFile(join(space.root, "d", "f3.txt"), "edited behind the server's back\n");
    const second = counting(await LocalStorage.open(space.root));
    const two = await services.openSession("alice", "s2", second.storage);
    try {
      const journal = await two.index.journal();
      await waitFor(
        async () => {
          await two.index.ready();
          return (await journal.lookup("/d/f3.txt"))?.size === 32;
        },
        10_000,
        "the outside edit in the index",
      );
      assert.equal(second.rootListings(), 0, "no full comparison: the journal stayed open");
      assert.equal(
        (await journal.lookup("/d/mine.txt"))?.sha256,
        sha("mine"),
        "its own change kept",
      );
    } finally {
      await two.release();
    }
  } finally {
    await services.closeAll();
  }
});

Deno.test("without a tree watch, each new session compares the whole tree once", async () => {
  await using space = await fixture();
  const services = new TreeServices();
  try {
    const first = counting(await LocalStorage.open(space.root), false);
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
    } finally {
      await two.release();
    }
  } finally {
    await services.closeAll();
  }
});
