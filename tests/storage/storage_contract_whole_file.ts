/**
 * Contract tests for `writeFile`, the one-step store of a small file: the
 * same checks and guarantees as a committed upload, and nothing left behind
 * when it fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { EntryInfo, Storage, WholeFileOptions } from "../../src/storage/storage.ts";
import type { DefineContractTest } from "./storage_contract.ts";
import {
  assertStatus,
  bytesOf,
  putFile,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

/** Stores `text` at `path` with `writeFile` and a correct digest. */
function writeText(
  storage: Storage,
  path: string,
  text: string,
  options: Partial<WholeFileOptions> = {},
): Promise<EntryInfo> {
  const content = bytesOf(text);
  return storage.writeFile(path, content, {
    mtimeMs: TEST_MTIME_MS,
    sha256Hex: sha256Hex(content),
    ...options,
  });
}

/** Registers the `writeFile` tests. */
export function registerWholeFileContract(define: DefineContractTest): void {
  define("writeFile stores content and mtime, and leaves no partial", async (storage) => {
    await storage.mkdir("/docs");
    await writeText(storage, "/docs/a.txt", "hello, 世界");
    assert.equal(await readFileText(storage, "/docs/a.txt"), "hello, 世界");
    const info = await storage.stat("/docs/a.txt");
    assert.equal(info.mtimeMs, TEST_MTIME_MS);
    assert.equal(info.size, bytesOf("hello, 世界").length);
    assert.equal(await storage.usage(), info.size, "nothing but the file takes space");
    await writeText(storage, "/empty", "");
    assert.equal((await storage.stat("/empty")).size, 0);
  });

  define("writeFile refuses an existing name unless told to overwrite", async (storage) => {
    await writeText(storage, "/a.txt", "old");
    await assertStatus(writeText(storage, "/a.txt", "new"), "EXISTS");
    assert.equal(await readFileText(storage, "/a.txt"), "old");
    await writeText(storage, "/a.txt", "new", { overwrite: true });
    assert.equal(await readFileText(storage, "/a.txt"), "new");
    assert.equal(await storage.usage(), 3);
  });

  define("of two writeFiles to one new name without overwrite, one wins", async (storage) => {
    const results = await Promise.allSettled(
      ["first", "second", "third"].map((text) => writeText(storage, "/race.txt", text)),
    );
    assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
    const stored = await readFileText(storage, "/race.txt");
    assert.ok(["first", "second", "third"].includes(stored), stored);
    assert.equal(await storage.usage(), bytesOf(stored).length, "the losers left nothing");
  });

  define("writeFile refuses directories, missing parents and non-directories", async (storage) => {
    await storage.mkdir("/dir");
    await putFile(storage, "/file", "f");
    await assertStatus(writeText(storage, "/", "x"), "IS_A_DIRECTORY");
    await assertStatus(writeText(storage, "/dir", "x"), "IS_A_DIRECTORY");
    await assertStatus(writeText(storage, "/dir", "x", { overwrite: true }), "IS_A_DIRECTORY");
    await assertStatus(writeText(storage, "/missing/x", "x"), "NOT_FOUND");
    await assertStatus(writeText(storage, "/file/x", "x"), "NOT_A_DIRECTORY");
    await assertStatus(writeText(storage, "/.dfos/x", "x"), "PERMISSION_DENIED");
    assert.equal((await storage.stat("/dir")).kind, "directory");
    assert.equal(await storage.usage(), 1, "no refused write left anything");
  });

  define("writeFile with a wrong digest stores nothing", async (storage) => {
    await writeText(storage, "/keep.txt", "old");
    const wrong = sha256Hex(bytesOf("something else"));
    await assertStatus(
      writeText(storage, "/new.txt", "new", { sha256Hex: wrong }),
      "CHECKSUM_MISMATCH",
    );
    await assertStatus(
      writeText(storage, "/keep.txt", "new", { sha256Hex: wrong, overwrite: true }),
      "CHECKSUM_MISMATCH",
    );
    await assertStatus(storage.stat("/new.txt"), "NOT_FOUND");
    assert.equal(await readFileText(storage, "/keep.txt"), "old");
    assert.equal(await storage.usage(), 3);
  });

  define("writeFile refuses a negative or fractional mtime", async (storage) => {
    for (const mtimeMs of [-1, 1.5, Number.NaN]) {
      await assertStatus(writeText(storage, "/t.txt", "t", { mtimeMs }), "BAD_REQUEST");
    }
    assert.equal(await storage.usage(), 0);
  });
}
