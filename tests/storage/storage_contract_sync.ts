/**
 * Contract tests for what the server's change journal needs from a backend:
 * `lstat`, canonical paths, the entry a commit resolves to, the guard around
 * the placement of a file, and the journal itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { STATUS } from "../../src/protocol/status.ts";
import { type PlacementGuard, StorageError } from "../../src/storage/storage.ts";
import type { DefineContractTest } from "./storage_contract.ts";
import {
  assertAbsent,
  assertStatus,
  bytesOf,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

const conflict = () => new StorageError(STATUS.CONFLICT, "changed meanwhile");

/** Registers the tests of what sync needs from a backend. */
export function registerSyncContract(define: DefineContractTest): void {
  define(
    "lstat describes a file or folder as stat does, and NOT_FOUND for nothing",
    async (storage) => {
      await storage.mkdir("/docs");
      assert.deepEqual(await storage.lstat("/docs"), await storage.stat("/docs"));
      assert.equal((await storage.lstat("/")).kind, "directory");
      await assertStatus(storage.lstat("/docs/missing"), "NOT_FOUND");
    },
  );

  define(
    "the canonical path of a plain path is the path itself; a missing folder on the way is NOT_FOUND",
    async (storage) => {
      await storage.mkdir("/docs");
      assert.equal(await storage.canonicalPath("/docs/new.txt"), "/docs/new.txt");
      assert.equal(await storage.canonicalPath("/"), "/");
      await assertStatus(storage.canonicalPath("/missing/new.txt"), "NOT_FOUND");
    },
  );

  define(
    "a commit resolves to the file as placed, and runs its placement through the guard",
    async (storage) => {
      const content = bytesOf("guarded");
      const upload = await storage.beginUpload("/a.txt", { size: 7, mtimeMs: TEST_MTIME_MS });
      await upload.write(content);
      const seen: string[] = [];
      const guard: PlacementGuard = async (place) => {
        seen.push("before");
        await assertAbsent(storage, "/a.txt");
        const placed = await place();
        assert.equal(placed.path, "/a.txt", "the canonical path");
        seen.push("after");
        return placed;
      };
      const entry = await upload.commit(sha256Hex(content), { guard });
      assert.deepEqual(seen, ["before", "after"]);
      assert.deepEqual(withoutMode(entry), {
        name: "a.txt",
        kind: "file",
        size: 7,
        mtimeMs: TEST_MTIME_MS,
      });
      assert.deepEqual(withoutMode(await storage.stat("/a.txt")), withoutMode(entry));
    },
  );

  define(
    "a guard refusing with CONFLICT places nothing and leaves no partial to resume",
    async (storage) => {
      const content = bytesOf("refused");
      const upload = await storage.beginUpload("/a.txt", { size: 7, mtimeMs: TEST_MTIME_MS });
      await upload.write(content);
      await assertStatus(
        upload.commit(sha256Hex(content), { guard: () => Promise.reject(conflict()) }),
        "CONFLICT",
      );
      await assertAbsent(storage, "/a.txt");
      assert.equal((await storage.listPartials()).count, 0);
    },
  );

  define(
    "writeFile resolves to the file as placed; a refusing guard leaves nothing",
    async (storage) => {
      const content = bytesOf("small");
      const options = { mtimeMs: TEST_MTIME_MS, sha256Hex: sha256Hex(content) };
      const entry = await storage.writeFile("/s.txt", content, {
        ...options,
        guard: (place) => place(),
      });
      assert.deepEqual(withoutMode(entry), {
        name: "s.txt",
        kind: "file",
        size: 5,
        mtimeMs: TEST_MTIME_MS,
      });
      await assertStatus(
        storage.writeFile("/t.txt", content, {
          ...options,
          guard: () => Promise.reject(conflict()),
        }),
        "CONFLICT",
      );
      await assertAbsent(storage, "/t.txt");
      assert.equal((await storage.listPartials()).count, 0);
    },
  );

  define(
    "the journal keeps its changes, index and id when closed and opened again",
    async (storage) => {
      const journal = await storage.openJournal();
      const file = { kind: "file", size: 1, mtimeMs: 2, sha256: "ab" } as const;
      await journal.put("/a.txt", file);
      await journal.close();
      const again = await storage.openJournal();
      try {
        assert.equal(again.id, journal.id);
        assert.equal(await again.sequence(), 1);
        assert.deepEqual(await again.lookup("/a.txt"), file);
        assert.deepEqual(
          (await storage.list("/")).map((entry) => entry.name),
          [],
          "not a user file",
        );
      } finally {
        await again.close();
      }
    },
  );
}

/** An entry without its permission bits, which backends may leave out (they are optional). */
function withoutMode<E extends { mode?: number }>(entry: E): Omit<E, "mode"> {
  const { mode: _mode, ...rest } = entry;
  return rest;
}
