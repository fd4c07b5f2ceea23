/**
 * Contract tests for paths: ".." never escapes, malformed paths are refused
 * even when handed to a backend directly, and the reserved name is off limits.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Storage } from "../../src/storage/storage.ts";
import { resolveVirtualPath } from "../../src/storage/virtual_path.ts";
import type { DefineContractTest } from "./storage_contract.ts";
import { assertStatus, putFile, readFileText, TEST_MTIME_MS } from "./storage_test_helpers.ts";

/** Paths every backend must refuse with INVALID_PATH, by what is wrong with them. */
const MALFORMED_PATHS: Record<string, string> = {
  "NUL byte": "/a\0b",
  "newline": "/a\nb",
  "carriage return": "/a\rb",
  "control character": "/a\x01b",
  "DEL": "/a\x7fb",
  "backslash": "/a\\b",
  "256-byte component": "/" + "x".repeat(256),
  "path over 4096 bytes": "/" + "abcdefg/".repeat(520),
};

/** Every operation that takes a path, applied to `path`. */
function everyOperation(storage: Storage, path: string): Array<() => Promise<unknown>> {
  return [
    () => storage.stat(path),
    () => storage.list(path),
    () => storage.mkdir(path, { parents: true }),
    () => storage.rmdir(path),
    () => storage.remove(path, { recursive: true }),
    () => storage.rename(path, "/elsewhere"),
    () => storage.rename("/a.txt", path, { overwrite: true }),
    () => storage.openRead(path),
    () => storage.beginUpload(path, { size: 1, mtimeMs: TEST_MTIME_MS, overwrite: true }),
  ];
}

/** Registers the path tests. */
export function registerPathContract(define: DefineContractTest): void {
  define(".. is clamped at the root in every position", async (storage) => {
    await storage.mkdir("/etc");
    await storage.mkdir("/docs");
    await putFile(storage, "/etc/passwd", "inside");
    await putFile(storage, "/x", "x inside");
    for (const cwd of ["/", "/docs"]) {
      for (const input of ["../../etc/passwd", "/../etc/passwd", "a/../../../../etc/passwd"]) {
        const path = resolveVirtualPath(cwd, input);
        assert.equal(await readFileText(storage, path), "inside", `${cwd} + ${input}`);
      }
      assert.equal(await readFileText(storage, resolveVirtualPath(cwd, "./../x")), "x inside");
      assert.equal((await storage.stat(resolveVirtualPath(cwd, "/.."))).name, "");
      assert.equal((await storage.stat(resolveVirtualPath(cwd, "a/../../.."))).name, "");
    }
  });

  for (const [problem, path] of Object.entries(MALFORMED_PATHS)) {
    define(
      `a path with a ${problem} fails with INVALID_PATH in every operation`,
      async (storage) => {
        await putFile(storage, "/a.txt", "a");
        for (const operation of everyOperation(storage, path)) {
          await assertStatus(operation, "INVALID_PATH");
        }
        assert.equal(await readFileText(storage, "/a.txt"), "a");
      },
    );
  }

  define("a percent-encoded dot-dot is an ordinary file name", async (storage) => {
    await storage.mkdir("/docs");
    await putFile(storage, "/docs/%2e%2e", "literal");
    await putFile(storage, "/docs/%2E%2E%2Fx", "also literal");
    assert.deepEqual((await storage.list("/docs")).map((entry) => entry.name), [
      "%2E%2E%2Fx",
      "%2e%2e",
    ]);
    assert.equal(await readFileText(storage, "/docs/%2e%2e"), "literal");
    assert.deepEqual((await storage.list("/")).map((entry) => entry.name), ["docs"]);
  });

  define(
    "the reserved .dfos folder fails with PERMISSION_DENIED in every operation",
    async (storage) => {
      await putFile(storage, "/a.txt", "a");
      for (const path of ["/.dfos", "/.dfos/partial", "/.dfos/x", "docs/../.dfos"]) {
        for (const operation of everyOperation(storage, path)) {
          await assertStatus(operation, "PERMISSION_DENIED");
        }
      }
      assert.equal(await readFileText(storage, "/a.txt"), "a");
    },
  );

  define(".dfos below the top level is an ordinary name", async (storage) => {
    await storage.mkdir("/docs/.dfos", { parents: true });
    await putFile(storage, "/docs/.dfos/a.txt", "a");
    assert.deepEqual((await storage.list("/docs")).map((entry) => entry.name), [".dfos"]);
  });
}
