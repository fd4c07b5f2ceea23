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
  assertStatus,
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

/** What `.dfos/retired` holds, by kind ("file" or "folder"), in name order. */
async function retiredKinds(root: string): Promise<string[]> {
  const kinds: [string, string][] = [];
  try {
    for await (const entry of Deno.readDir(join(root, ".dfos", "retired"))) {
      kinds.push([entry.name, entry.isDirectory ? "folder" : "file"]);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return kinds.sort().map(([, kind]) => kind);
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
    await Deno.mkdir(join(root, ".dfos", "retired", "a-folder-left", "sub"), { recursive: true });
    await Deno.writeTextFile(join(root, ".dfos", "retired", "a-folder-left", "sub", "f"), OLD);
    await storage.cleanupPartials(60_000);
    assert.deepEqual(await retiredKinds(root), []);
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

Deno.test("a removed file and a folder removed whole are gone at once, their blocks freed when the storage tidies up", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/a.txt", OLD);
    await storage.mkdir("/tree/sub", { parents: true });
    for (const name of ["x", "sub/y", "sub/z"]) await putFile(storage, `/tree/${name}`, OLD);
    await putFile(storage, "/empty.txt", "");
    await storage.remove("/a.txt");
    await storage.remove("/tree", { recursive: true });
    await storage.remove("/empty.txt");
    for (const path of ["/a.txt", "/tree", "/tree/sub/y", "/empty.txt"]) {
      await assertStatus(storage.stat(path), "NOT_FOUND");
    }
    assert.deepEqual(await storage.list("/"), []);
    assert.deepEqual((await retiredKinds(root)).sort(), ["file", "folder"]);
    assert.equal(await storage.usage(), 0, "what waits to be freed is not the user's");
    await storage.tidy();
    assert.deepEqual(await retiredKinds(root), []);
  });
});

Deno.test("a folder is still not removed without --recursive, and nothing of it is moved aside", async () => {
  await withStorage(async (root, storage) => {
    await storage.mkdir("/tree");
    await putFile(storage, "/tree/x", OLD);
    await assertStatus(storage.remove("/tree"), "IS_A_DIRECTORY");
    assert.equal(await readFileText(storage, "/tree/x"), OLD);
    assert.deepEqual(await retiredKinds(root), []);
  });
});

Deno.test("once many removals wait, they are freed without waiting for the storage to be idle", async () => {
  await withStorage(async (root, storage) => {
    for (let index = 0; index < 1024; index++) {
      await putFile(storage, `/f${index}`, "x");
      await storage.remove(`/f${index}`);
    }
    const deadline = Date.now() + 10_000;
    while ((await retiredKinds(root)).length > 0) {
      assert.ok(Date.now() < deadline, "the removals started on their own");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await storage.tidy(); // Closes what it held.
  });
});
