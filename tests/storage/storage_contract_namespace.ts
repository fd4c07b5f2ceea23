/**
 * Contract tests for the namespace operations: stat, list, mkdir, rmdir,
 * remove, rename, setMtime and openRead, each with its success and its error codes.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DefineContractTest } from "./storage_contract.ts";
import {
  assertAbsent,
  assertStatus,
  putFile,
  readFileBytes,
  readFileText,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

/** Registers the namespace tests. */
export function registerNamespaceContract(define: DefineContractTest): void {
  registerStatAndList(define);
  registerMkdirAndRmdir(define);
  registerRemove(define);
  registerRename(define);
  registerSetMtime(define);
  registerOpenRead(define);
}

function registerStatAndList(define: DefineContractTest): void {
  define("stat of the root is a directory named with the empty string", async (storage) => {
    const root = await storage.stat("/");
    assert.equal(root.name, "");
    assert.equal(root.kind, "directory");
    assert.equal(root.size, 0);
  });

  define(
    "stat of a file reports its name, kind, size, mtime and perhaps its mode",
    async (storage) => {
      await storage.mkdir("/docs");
      await putFile(storage, "/docs/a.txt", "hello");
      const { mode, ...rest } = await storage.stat("/docs/a.txt");
      assert.deepEqual(rest, { name: "a.txt", kind: "file", size: 5, mtimeMs: TEST_MTIME_MS });
      assert.ok(mode === undefined || (Number.isInteger(mode) && (mode & ~0o777) === 0), `${mode}`);
    },
  );

  define("stat of a missing path fails with NOT_FOUND", async (storage) => {
    await assertStatus(storage.stat("/missing"), "NOT_FOUND");
    await assertStatus(storage.stat("/missing/deeper"), "NOT_FOUND");
  });

  define("list returns entries sorted by name with kinds and sizes", async (storage) => {
    await putFile(storage, "/b.txt", "bb");
    await storage.mkdir("/c");
    await putFile(storage, "/a.txt", "a");
    await putFile(storage, "/B.txt", "B");
    const entries = await storage.list("/");
    assert.deepEqual(entries.map((entry) => [entry.name, entry.kind, entry.size]), [
      ["B.txt", "file", 1],
      ["a.txt", "file", 1],
      ["b.txt", "file", 2],
      ["c", "directory", 0],
    ]);
  });

  define("list of an empty directory is empty", async (storage) => {
    await storage.mkdir("/empty");
    assert.deepEqual(await storage.list("/empty"), []);
  });

  define("list of a file fails with NOT_A_DIRECTORY", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.list("/a.txt"), "NOT_A_DIRECTORY");
  });

  define("list of a missing directory fails with NOT_FOUND", async (storage) => {
    await assertStatus(storage.list("/missing"), "NOT_FOUND");
  });
}

function registerMkdirAndRmdir(define: DefineContractTest): void {
  define("mkdir creates an empty directory", async (storage) => {
    await storage.mkdir("/docs");
    assert.equal((await storage.stat("/docs")).kind, "directory");
  });

  define("mkdir of an existing name fails with EXISTS", async (storage) => {
    await storage.mkdir("/docs");
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.mkdir("/docs"), "EXISTS");
    await assertStatus(storage.mkdir("/a.txt"), "EXISTS");
    await assertStatus(storage.mkdir("/"), "EXISTS");
  });

  define(
    "mkdir with parents creates missing parents and accepts an existing directory",
    async (storage) => {
      await storage.mkdir("/a/b/c", { parents: true });
      assert.equal((await storage.stat("/a/b/c")).kind, "directory");
      await storage.mkdir("/a/b/c", { parents: true });
      await storage.mkdir("/", { parents: true });
    },
  );

  define("mkdir with parents over an existing file fails with EXISTS", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.mkdir("/a.txt", { parents: true }), "EXISTS");
  });

  define(
    "mkdir without parents fails with NOT_FOUND when the parent is missing",
    async (storage) => {
      await assertStatus(storage.mkdir("/missing/docs"), "NOT_FOUND");
    },
  );

  define("mkdir under a file fails with NOT_A_DIRECTORY", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.mkdir("/a.txt/docs"), "NOT_A_DIRECTORY");
    await assertStatus(storage.mkdir("/a.txt/docs/x", { parents: true }), "NOT_A_DIRECTORY");
  });

  define("rmdir removes an empty directory", async (storage) => {
    await storage.mkdir("/docs");
    await storage.rmdir("/docs");
    await assertAbsent(storage, "/docs");
  });

  define("rmdir of a non-empty directory fails with NOT_EMPTY", async (storage) => {
    await storage.mkdir("/docs");
    await putFile(storage, "/docs/a.txt", "a");
    await assertStatus(storage.rmdir("/docs"), "NOT_EMPTY");
    assert.equal(await readFileText(storage, "/docs/a.txt"), "a");
  });

  define("rmdir of a file fails with NOT_A_DIRECTORY", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.rmdir("/a.txt"), "NOT_A_DIRECTORY");
  });

  define("rmdir of a missing directory fails with NOT_FOUND", async (storage) => {
    await assertStatus(storage.rmdir("/missing"), "NOT_FOUND");
  });

  define("rmdir of the root fails with PERMISSION_DENIED", async (storage) => {
    await assertStatus(storage.rmdir("/"), "PERMISSION_DENIED");
  });
}

function registerRemove(define: DefineContractTest): void {
  define("remove deletes a file", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await storage.remove("/a.txt");
    await assertAbsent(storage, "/a.txt");
  });

  define("remove of a directory without recursive fails with IS_A_DIRECTORY", async (storage) => {
    await storage.mkdir("/docs");
    await assertStatus(storage.remove("/docs"), "IS_A_DIRECTORY");
    assert.equal((await storage.stat("/docs")).kind, "directory");
  });

  define("remove with recursive deletes a whole directory tree", async (storage) => {
    await storage.mkdir("/docs/deep", { parents: true });
    await putFile(storage, "/docs/deep/a.txt", "a");
    await putFile(storage, "/docs/b.txt", "b");
    await storage.remove("/docs", { recursive: true });
    await assertAbsent(storage, "/docs");
  });

  define("remove of a missing path fails with NOT_FOUND", async (storage) => {
    await assertStatus(storage.remove("/missing"), "NOT_FOUND");
  });

  define("remove of the root fails with PERMISSION_DENIED", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.remove("/"), "PERMISSION_DENIED");
    await assertStatus(storage.remove("/", { recursive: true }), "PERMISSION_DENIED");
    assert.equal(await readFileText(storage, "/a.txt"), "a");
  });
}

function registerRename(define: DefineContractTest): void {
  define("rename moves a file to a new name in another directory", async (storage) => {
    await storage.mkdir("/docs");
    await putFile(storage, "/a.txt", "content");
    await storage.rename("/a.txt", "/docs/b.txt");
    await assertAbsent(storage, "/a.txt");
    assert.equal(await readFileText(storage, "/docs/b.txt"), "content");
  });

  define("rename moves a directory with its contents", async (storage) => {
    await storage.mkdir("/docs");
    await putFile(storage, "/docs/a.txt", "a");
    await storage.rename("/docs", "/archive");
    assert.equal(await readFileText(storage, "/archive/a.txt"), "a");
    await assertAbsent(storage, "/docs");
  });

  define("rename onto an existing name without overwrite fails with EXISTS", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await putFile(storage, "/b.txt", "b");
    await assertStatus(storage.rename("/a.txt", "/b.txt"), "EXISTS");
    assert.equal(await readFileText(storage, "/b.txt"), "b");
  });

  define("rename with overwrite replaces the target", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await putFile(storage, "/b.txt", "b");
    await storage.rename("/a.txt", "/b.txt", { overwrite: true });
    assert.equal(await readFileText(storage, "/b.txt"), "a");
    await assertAbsent(storage, "/a.txt");
  });

  define("rename of a missing source fails with NOT_FOUND", async (storage) => {
    await assertStatus(storage.rename("/missing", "/b.txt"), "NOT_FOUND");
  });

  define("rename into a missing directory fails with NOT_FOUND", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(storage.rename("/a.txt", "/missing/a.txt"), "NOT_FOUND");
    assert.equal(await readFileText(storage, "/a.txt"), "a");
  });

  define("rename of a directory into itself fails with BAD_REQUEST", async (storage) => {
    await storage.mkdir("/docs/sub", { parents: true });
    await assertStatus(storage.rename("/docs", "/docs/sub/docs"), "BAD_REQUEST");
    assert.equal((await storage.stat("/docs/sub")).kind, "directory");
  });

  define("rename of or onto the root fails with PERMISSION_DENIED", async (storage) => {
    await storage.mkdir("/docs");
    await assertStatus(storage.rename("/", "/docs/root"), "PERMISSION_DENIED");
    await assertStatus(storage.rename("/docs", "/", { overwrite: true }), "PERMISSION_DENIED");
  });
}

function registerSetMtime(define: DefineContractTest): void {
  define("setMtime sets the time of files and folders, the root included", async (storage) => {
    await storage.mkdir("/d");
    await putFile(storage, "/d/f", "f");
    for (const [path, mtimeMs] of [["/d/f", 1_000], ["/d", 2_000], ["/", 3_000]] as const) {
      await storage.setMtime(path, mtimeMs);
      assert.equal((await storage.stat(path)).mtimeMs, mtimeMs, path);
    }
    assert.equal((await storage.stat("/d/f")).mtimeMs, 1_000, "a later change elsewhere kept it");
  });

  define("setMtime refuses a missing path and a negative or fractional time", async (storage) => {
    await assertStatus(storage.setMtime("/missing", 1), "NOT_FOUND");
    await storage.mkdir("/d");
    const before = (await storage.stat("/d")).mtimeMs;
    for (const mtimeMs of [-1, 0.5]) {
      await assertStatus(storage.setMtime("/d", mtimeMs), "BAD_REQUEST");
    }
    assert.equal((await storage.stat("/d")).mtimeMs, before);
  });
}

function registerOpenRead(define: DefineContractTest): void {
  define("openRead reads any range and reports size and mtime", async (storage) => {
    await putFile(storage, "/a.txt", "0123456789");
    const handle = await storage.openRead("/a.txt");
    try {
      assert.equal(handle.size, 10);
      assert.equal(handle.mtimeMs, TEST_MTIME_MS);
      const buffer = new Uint8Array(3);
      assert.equal(await handle.read(buffer, 7), 3);
      assert.equal(new TextDecoder().decode(buffer), "789");
      assert.equal(await handle.read(buffer, 2), 3);
      assert.equal(new TextDecoder().decode(buffer), "234");
      assert.equal(await handle.read(buffer, 10), null);
    } finally {
      handle.close();
    }
  });

  define("openRead of an empty file reads nothing", async (storage) => {
    await putFile(storage, "/empty", "");
    assert.equal((await readFileBytes(storage, "/empty")).length, 0);
  });

  define("openRead of a directory fails with IS_A_DIRECTORY", async (storage) => {
    await storage.mkdir("/docs");
    await assertStatus(storage.openRead("/docs"), "IS_A_DIRECTORY");
    await assertStatus(storage.openRead("/"), "IS_A_DIRECTORY");
  });

  define("openRead of a missing file fails with NOT_FOUND", async (storage) => {
    await assertStatus(storage.openRead("/missing"), "NOT_FOUND");
  });
}
