/**
 * The old versions of replaced files (src/storage/retired_files.ts): kept
 * under a second name until the storage tidies up, never counted, never
 * lost before the new version has the name, and swept if a crash left them.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { RetiredFiles } from "../../src/storage/retired_files.ts";
import { RootConfinement } from "../../src/storage/root_confinement.ts";
import {
  bytesOf,
  putFile,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

const OLD = "the old version ".repeat(256);
const NEW = "the new version, a little longer ".repeat(200);

async function withStorage(body: (root: string, storage: LocalStorage) => Promise<void>) {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-retired-" }));
  try {
    const root = join(base, "alice");
    await body(root, await LocalStorage.open(root, { fsync: false }));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** What `.dfos/retired` holds: each name's content, in name order. */
async function retiredContents(root: string): Promise<string[]> {
  const folder = join(root, ".dfos", "retired");
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return await Promise.all(names.sort().map((name) => Deno.readTextFile(join(folder, name))));
}

function overwrite(storage: LocalStorage, path: string, text: string) {
  const content = bytesOf(text);
  return storage.writeFile(path, content, {
    mtimeMs: TEST_MTIME_MS,
    sha256Hex: sha256Hex(content),
    overwrite: true,
  });
}

Deno.test("an overwritten file's old version waits under a second name, uncounted, until the storage tidies up", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/a.txt", OLD);
    await overwrite(storage, "/a.txt", NEW);
    assert.equal(await readFileText(storage, "/a.txt"), NEW);
    assert.deepEqual(await retiredContents(root), [OLD]);
    assert.equal(await storage.usage(), NEW.length, "the waiting old version is not the user's");
    await storage.tidy();
    assert.deepEqual(await retiredContents(root), []);
    assert.equal(await readFileText(storage, "/a.txt"), NEW);
  });
});

Deno.test("a committed upload and a rename over an existing file retire the old version the same way", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/a.txt", OLD);
    await putFile(storage, "/a.txt", NEW, { overwrite: true });
    await putFile(storage, "/b.txt", "b's own ".repeat(100));
    await storage.rename("/a.txt", "/b.txt", { overwrite: true });
    assert.deepEqual(await retiredContents(root), [OLD, "b's own ".repeat(100)]);
    assert.equal(await readFileText(storage, "/b.txt"), NEW);
    await storage.tidy();
    assert.deepEqual(await retiredContents(root), []);
  });
});

Deno.test("an empty file, or one with another name, is replaced without a retired name: nothing to free", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/empty.txt", "");
    await overwrite(storage, "/empty.txt", NEW);
    await putFile(storage, "/linked.txt", OLD);
    await Deno.link(join(root, "linked.txt"), join(root, "other-name.txt"));
    await overwrite(storage, "/linked.txt", NEW);
    assert.deepEqual(await retiredContents(root), []);
    assert.equal(await Deno.readTextFile(join(root, "other-name.txt")), OLD);
  });
});

Deno.test("the sweep removes what a crash left in .dfos/retired, and nothing of the user's", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/keep.txt", OLD);
    await Deno.mkdir(join(root, ".dfos", "retired"), { recursive: true });
    await Deno.writeTextFile(join(root, ".dfos", "retired", "left-by-a-crash"), OLD);
    await storage.cleanupPartials(60_000);
    assert.deepEqual(await retiredContents(root), []);
    assert.equal(await readFileText(storage, "/keep.txt"), OLD);
  });
});

Deno.test("a retired name cancelled (its rename failed) goes at once, and the file keeps its own name", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/a.txt", OLD);
    const confinement = RootConfinement.open(root);
    const retired = new RetiredFiles(confinement);
    {
      using target = confinement.locate("/a.txt");
      const old = retired.retire(target);
      assert.ok(old !== null, "a file with blocks of its own is retired");
      assert.deepEqual(await retiredContents(root), [OLD]);
      retired.cancel(old);
    }
    assert.deepEqual(await retiredContents(root), []);
    assert.equal(await readFileText(storage, "/a.txt"), OLD);
    await retired.tidy(); // Closes the folder it held.
  });
});
