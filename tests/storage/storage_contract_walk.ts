/**
 * Contract tests of {@link Storage.walk}: every entry under a folder, in
 * the order of the paths' UTF-8 bytes (the order the journal's index is
 * read in beside it), what a listing shows and nothing else.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { WalkedEntry } from "../../src/storage/storage.ts";
import { compareCodePoints, walkByListing } from "../../src/storage/tree_walk.ts";
import type { DefineContractTest } from "./storage_contract.ts";
import { assertStatus, putFile, TEST_MTIME_MS } from "./storage_test_helpers.ts";

/** Everything a walk yields, in its order. */
export async function walked(walk: AsyncIterable<WalkedEntry>): Promise<WalkedEntry[]> {
  const entries: WalkedEntry[] = [];
  for await (const entry of walk) entries.push(entry);
  return entries;
}

/**
 * Names whose order differs between a depth-first walk, JavaScript's `<`
 * and UTF-8 bytes: "-" and "." sort before "/", U+FF5E before the
 * surrogates of U+1F600 in UTF-8 but not in UTF-16.
 */
const FILES = ["/a/x", "/a-b", "/a.txt", "/a/b/c", "/\u{ff5e}", "/\u{1f600}", "/z/\u{1f600}/y"];

/** Registers the tests of walking a tree. */
export function registerWalkContract(define: DefineContractTest): void {
  define(
    "a walk yields every file and folder below, in the order of UTF-8 bytes",
    async (storage) => {
      for (const file of FILES) {
        await storage.mkdir(file.slice(0, file.lastIndexOf("/")) || "/", { parents: true });
        await putFile(storage, file, file);
      }
      await storage.mkdir("/empty");
      const paths = (await walked(storage.walk("/"))).map((item) => item.path);
      const expected = [...FILES, "/a", "/a/b", "/empty", "/z", "/z/\u{1f600}"];
      assert.deepEqual(paths, expected.sort(compareCodePoints));
      assert.deepEqual(
        (await walked(storage.walk("/a"))).map((item) => item.path),
        ["/a/b", "/a/b/c", "/a/x"],
      );
    },
  );

  define("a walk describes each entry as its folder's listing does", async (storage) => {
    await storage.mkdir("/d/e", { parents: true });
    await putFile(storage, "/d/f.txt", "twelve bytes", { mtimeMs: TEST_MTIME_MS });
    const entries = await walked(storage.walk("/d"));
    const listed = [...await storage.list("/d"), ...await storage.list("/d/e")];
    assert.deepEqual(entries.map((item) => item.entry), listed);
    assert.deepEqual(entries.find((item) => item.path === "/d/f.txt")?.entry, {
      ...listed.find((entry) => entry.name === "f.txt"),
      size: 12,
    });
  });

  define("a walk shows no partial upload and agrees with a walk by listing", async (storage) => {
    await storage.mkdir("/docs");
    await putFile(storage, "/docs/kept.txt", "kept");
    const upload = await storage.beginUpload("/docs/half.bin", { size: 8, mtimeMs: TEST_MTIME_MS });
    await upload.write(new Uint8Array(4));
    await upload.abort(true);
    const byWalk = await walked(storage.walk("/"));
    assert.deepEqual(byWalk.map((item) => item.path), ["/docs", "/docs/kept.txt"]);
    assert.deepEqual(byWalk, await walked(walkByListing(storage, "/")));
    assert.equal((await storage.listPartials()).count, 1);
  });

  define("a walk of a missing folder is NOT_FOUND, of a file NOT_A_DIRECTORY", async (storage) => {
    await putFile(storage, "/file.txt", "x");
    await assertStatus(walked(storage.walk("/missing")), "NOT_FOUND");
    await assertStatus(walked(storage.walk("/file.txt")), "NOT_A_DIRECTORY");
    assert.deepEqual(await walked(storage.walk("/")), [
      { path: "/file.txt", entry: await storage.stat("/file.txt") },
    ]);
  });
}
