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
import { clearFolderCache } from "../../src/storage/folder_cache.ts";
import { openDescriptorCount } from "../helpers/race.ts";
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

/** Whether this process runs as root: the owner of a file it makes (the tests get no system access). */
function runsAsRoot(): boolean {
  const file = Deno.makeTempFileSync({ prefix: "dfos-owner-" });
  try {
    return Deno.statSync(file).uid === 0;
  } finally {
    Deno.removeSync(file);
  }
}

/** Waits (at most 10 s) until `.dfos/retired` holds nothing, polling it. */
async function waitUntilEmpty(root: string, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await retiredKinds(root)).length > 0) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
    // One at a time: a name released a second after another starts the removal of both.
    await putFile(storage, "/a.txt", OLD);
    await putFile(storage, "/a.txt", NEW, { overwrite: true });
    assert.deepEqual(await retiredContents(root), [OLD]);
    await storage.tidy();
    await putFile(storage, "/b.txt", "b's own ".repeat(100));
    await storage.rename("/a.txt", "/b.txt", { overwrite: true });
    assert.deepEqual(await retiredContents(root), ["b's own ".repeat(100)]);
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

Deno.test("a retired name cancelled (its rename failed) goes at once, the file keeps its own name, and tidying up closes the folder", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/a.txt", OLD);
    const confinement = RootConfinement.open(root);
    const retired = new RetiredFiles(confinement);
    clearFolderCache();
    const descriptors = openDescriptorCount(root);
    {
      using target = confinement.locate("/a.txt");
      const old = retired.retire(target);
      assert.ok(old !== null, "a file with blocks of its own is retired");
      assert.deepEqual(await retiredContents(root), [OLD]);
      retired.cancel(old);
    }
    assert.deepEqual(await retiredContents(root), []);
    assert.equal(await readFileText(storage, "/a.txt"), OLD);
    await retired.tidy();
    clearFolderCache();
    assert.equal(openDescriptorCount(root), descriptors, "nothing waits: the folder is let go");
  });
});

Deno.test("a name that has waited a second is removed with the next one released, idle or not", async () => {
  await withStorage(async (root, storage) => {
    let now = 0;
    const confinement = RootConfinement.open(root);
    const retired = new RetiredFiles(confinement, { now: () => now });
    const retireOne = async (path: string) => {
      await putFile(storage, path, OLD);
      using target = confinement.locate(path);
      const old = retired.retire(target);
      assert.ok(old !== null);
      Deno.removeSync(target.path);
      retired.release(old);
    };
    await retireOne("/a.txt");
    now = 999;
    await retireOne("/b.txt");
    assert.equal((await retiredContents(root)).length, 2, "within the second, both wait");
    now = 1000;
    await retireOne("/c.txt");
    await waitUntilEmpty(root, "the removal the third release started");
    await retired.tidy();
  });
});

Deno.test("a removed file is gone at once and freed when the storage tidies up; a folder removed whole is freed at once", async () => {
  await withStorage(async (root, storage) => {
    await putFile(storage, "/a.txt", OLD);
    await putFile(storage, "/empty.txt", "");
    await storage.remove("/a.txt");
    await storage.remove("/empty.txt");
    for (const path of ["/a.txt", "/empty.txt"]) {
      await assertStatus(storage.stat(path), "NOT_FOUND");
    }
    assert.deepEqual(await retiredKinds(root), ["file"], "an empty file has nothing to free");
    assert.equal(await storage.usage(), 0, "what waits to be freed is not the user's");
    await storage.tidy();
    assert.deepEqual(await retiredKinds(root), []);

    await storage.mkdir("/tree/sub", { parents: true });
    for (const name of ["x", "sub/y", "sub/z"]) await putFile(storage, `/tree/${name}`, OLD);
    await storage.remove("/tree", { recursive: true });
    for (const path of ["/tree", "/tree/sub/y"]) {
      await assertStatus(storage.stat(path), "NOT_FOUND");
    }
    assert.deepEqual(await storage.list("/"), []);
    // Its size unknown and no longer counted, a folder does not wait for the session to be idle.
    await waitUntilEmpty(root, "the removed folder to be freed without tidying up");
    await storage.tidy();
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
  await withStorage(async (root) => {
    const confinement = RootConfinement.open(root);
    // A clock that never moves: only the number waiting can start the removal.
    const retired = new RetiredFiles(confinement, { now: () => 0 });
    for (let index = 0; index < 1024; index++) {
      Deno.writeTextFileSync(join(root, `f${index}`), "x");
      using target = confinement.locate(`/f${index}`);
      const old = retired.retire(target);
      assert.ok(old !== null);
      Deno.removeSync(target.path);
      retired.release(old);
      if (index === 1022) assert.equal((await retiredKinds(root)).length, 1023, "all wait");
    }
    await waitUntilEmpty(root, "the removals to start on their own");
    await retired.tidy();
  });
});

Deno.test({
  name:
    "a folder the user made read-only is still freed: the server makes its own folders writable again",
  // Root is never refused a removal: nothing here would be tested.
  ignore: runsAsRoot(),
  fn: async () => {
    await withStorage(async (root, storage) => {
      await storage.mkdir("/tree/locked/deeper", { parents: true });
      await putFile(storage, "/tree/locked/deeper/x", OLD);
      await putFile(storage, "/tree/locked/y", OLD);
      await Deno.chmod(join(root, "tree", "locked", "deeper"), 0o500);
      await Deno.chmod(join(root, "tree", "locked"), 0o500);
      await storage.remove("/tree", { recursive: true });
      await assertStatus(storage.stat("/tree"), "NOT_FOUND");
      await waitUntilEmpty(root, "the read-only folders to be freed");
      await storage.tidy();
    });
  },
});
