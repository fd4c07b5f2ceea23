/**
 * The files of one request share their folders' walks (walk_scope.ts): a
 * folder one file's walk reached is reused for the next file in it, but
 * never once a name under the root changed through the server, never after
 * a walk that followed a symlink, and never past the request.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { clearFolderCache } from "../../src/storage/folder_cache.ts";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { StorageBatch } from "../../src/storage/storage.ts";
import { openDescriptorCount } from "../helpers/race.ts";
import {
  assertAbsent,
  assertStatus,
  bytesOf,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

/** A user's root with two sessions' storages on it, removed afterwards. */
async function withRoot(
  body: (root: string, mine: LocalStorage, other: LocalStorage) => Promise<void>,
): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-walk-scope-" }));
  try {
    const root = join(base, "alice");
    await body(root, await LocalStorage.open(root), await LocalStorage.open(root));
  } finally {
    clearFolderCache();
    await Deno.remove(base, { recursive: true });
  }
}

/** Stores `text` at `path` as a file of the request `batch`. */
function write(storage: LocalStorage, batch: StorageBatch, path: string, text: string) {
  const content = bytesOf(text);
  return storage.writeFile(path, content, {
    mtimeMs: TEST_MTIME_MS,
    sha256Hex: sha256Hex(content),
    batch,
  });
}

Deno.test("the files of one request in one folder are each stored under their own name", async () => {
  await withRoot(async (_root, mine) => {
    await mine.mkdir("/tree/d1", { parents: true });
    using batch = mine.batch();
    for (let index = 0; index < 20; index++) {
      await write(mine, batch, `/tree/d1/f${index}.txt`, `file ${index}`);
    }
    await write(mine, batch, "/top.txt", "at the root");
    for (let index = 0; index < 20; index++) {
      assert.equal(await readFileText(mine, `/tree/d1/f${index}.txt`), `file ${index}`);
    }
    assert.equal(await readFileText(mine, "/top.txt"), "at the root");
    await assertStatus(write(mine, batch, "/tree/d1/f3.txt", "again"), "EXISTS");
    await assertStatus(write(mine, batch, "/.dfos/x.txt", "private"), "PERMISSION_DENIED");
  });
});

Deno.test("a folder renamed by another session in the middle of a request: the next file is walked again", async () => {
  await withRoot(async (_root, mine, other) => {
    await mine.mkdir("/tree/d1", { parents: true });
    using batch = mine.batch();
    await write(mine, batch, "/tree/d1/a.txt", "a");
    await other.rename("/tree", "/moved");
    await assertStatus(write(mine, batch, "/tree/d1/b.txt", "b"), "NOT_FOUND");
    await assertAbsent(mine, "/moved/d1/b.txt");
    await mine.mkdir("/tree/d1", { parents: true });
    await write(mine, batch, "/tree/d1/c.txt", "c");
    assert.equal(await readFileText(mine, "/tree/d1/c.txt"), "c");
    await assertAbsent(mine, "/moved/d1/c.txt");
  });
});

Deno.test("a walk through a symlink is not reused: a link changed behind the server's back is followed anew", async () => {
  await withRoot(async (root, mine) => {
    await mine.mkdir("/one");
    await mine.mkdir("/two");
    await Deno.symlink("one", join(root, "via"));
    using batch = mine.batch();
    await write(mine, batch, "/via/a.txt", "a");
    await Deno.remove(join(root, "via"));
    await Deno.symlink("two", join(root, "via"));
    await write(mine, batch, "/via/b.txt", "b");
    assert.equal(await readFileText(mine, "/one/a.txt"), "a");
    assert.equal(await readFileText(mine, "/two/b.txt"), "b");
    await assertAbsent(mine, "/one/b.txt");
  });
});

Deno.test("a folder swapped on disk for a link to another user's folder in the middle of a request: nothing reaches the other user", async () => {
  await withRoot(async (root, mine) => {
    const bob = join(root, "..", "bob");
    await Deno.mkdir(join(bob, "x"), { recursive: true });
    await mine.mkdir("/x");
    using batch = mine.batch();
    await write(mine, batch, "/x/a.txt", "a");
    await Deno.rename(join(root, "x"), join(root, "aside"));
    await Deno.symlink(join(bob, "x"), join(root, "x"));
    // The request's folder is held open: the next file goes where the first did, inside the root.
    await write(mine, batch, "/x/b.txt", "b");
    assert.deepEqual([...Deno.readDirSync(join(bob, "x"))], []);
    assert.equal(await readFileText(mine, "/aside/b.txt"), "b");
    // A new request walks again, and refuses the link out.
    using next = mine.batch();
    await assertStatus(write(mine, next, "/x/c.txt", "c"), "PERMISSION_DENIED");
    assert.deepEqual([...Deno.readDirSync(join(bob, "x"))], []);
  });
});

Deno.test("a request's scope closes every folder it held once disposed", async () => {
  await withRoot(async (root, mine) => {
    await mine.mkdir("/tree/d1", { parents: true });
    await mine.mkdir("/tree/d2", { parents: true });
    clearFolderCache();
    const before = openDescriptorCount(root);
    {
      using batch = mine.batch();
      await write(mine, batch, "/tree/d1/a.txt", "a");
      await write(mine, batch, "/tree/d2/b.txt", "b");
      assert.ok(openDescriptorCount(root) > before);
    }
    clearFolderCache();
    assert.equal(openDescriptorCount(root), before);
  });
});

/** Reads `path` whole as a file of the request `batch`. */
async function read(storage: LocalStorage, batch: StorageBatch, path: string): Promise<string> {
  const handle = await storage.openRead(path, { batch });
  try {
    const bytes = new Uint8Array(handle.size);
    for (let filled = 0; filled < bytes.length;) {
      const count = await handle.read(bytes.subarray(filled), filled);
      if (count === null) break;
      filled += count;
    }
    return new TextDecoder().decode(bytes);
  } finally {
    handle.close();
  }
}

Deno.test("reads share the walk too: each file of a folder is its own, and a rename through the server means a new walk", async () => {
  await withRoot(async (_root, mine, other) => {
    await mine.mkdir("/tree/d1", { parents: true });
    {
      using writes = mine.batch();
      for (let index = 0; index < 10; index++) {
        await write(mine, writes, `/tree/d1/f${index}.txt`, `file ${index}`);
      }
    }
    using batch = mine.batch();
    for (let index = 0; index < 10; index++) {
      assert.equal(await read(mine, batch, `/tree/d1/f${index}.txt`), `file ${index}`);
    }
    await other.rename("/tree", "/moved");
    await assertStatus(read(mine, batch, "/tree/d1/f1.txt"), "NOT_FOUND");
    assert.equal(await read(mine, batch, "/moved/d1/f1.txt"), "file 1");
  });
});

Deno.test("a read in a held folder swapped on disk for a link to another user's folder reads nothing of the other user's", async () => {
  await withRoot(async (root, mine) => {
    const bob = join(root, "..", "bob");
    await Deno.mkdir(join(bob, "x"), { recursive: true });
    await Deno.writeTextFile(join(bob, "x", "secret.txt"), "bob's");
    await mine.mkdir("/x");
    {
      using writes = mine.batch();
      await write(mine, writes, "/x/a.txt", "a");
    }
    using batch = mine.batch();
    assert.equal(await read(mine, batch, "/x/a.txt"), "a");
    await Deno.rename(join(root, "x"), join(root, "aside"));
    await Deno.symlink(join(bob, "x"), join(root, "x"));
    // The held folder is alice's own (now /aside): bob's file is not in it.
    await assertStatus(read(mine, batch, "/x/secret.txt"), "NOT_FOUND");
    using next = mine.batch();
    await assertStatus(read(mine, next, "/x/secret.txt"), "PERMISSION_DENIED");
  });
});
