import assert from "node:assert/strict";
import { statusName } from "../../src/protocol/status.ts";
import { StorageError } from "../../src/storage/storage.ts";
import {
  MAX_COMPONENT_BYTES,
  MAX_PATH_BYTES,
  RESERVED_NAME,
  resolveVirtualPath,
  virtualBaseName,
  virtualComponents,
  virtualParent,
} from "../../src/storage/virtual_path.ts";

function assertRefused(cwd: string, input: string, expected: string, pattern?: RegExp): void {
  assert.throws(
    () => resolveVirtualPath(cwd, input),
    (error) => {
      assert.ok(error instanceof StorageError, `not a StorageError: ${error}`);
      assert.equal(statusName(error.code), expected, error.message);
      if (pattern) assert.match(error.message, pattern);
      return true;
    },
  );
}

Deno.test("absolute input starts at the root and relative input at the cwd", () => {
  assert.equal(resolveVirtualPath("/docs", "/a/b"), "/a/b");
  assert.equal(resolveVirtualPath("/docs", "a/b"), "/docs/a/b");
  assert.equal(resolveVirtualPath("/", "a"), "/a");
});

Deno.test("empty, dot and repeated-slash components are dropped", () => {
  assert.equal(resolveVirtualPath("/docs", ""), "/docs");
  assert.equal(resolveVirtualPath("/docs", "."), "/docs");
  assert.equal(resolveVirtualPath("/", "//a/./b//"), "/a/b");
  assert.equal(resolveVirtualPath("/", "/"), "/");
});

Deno.test(".. pops one component", () => {
  assert.equal(resolveVirtualPath("/a/b", ".."), "/a");
  assert.equal(resolveVirtualPath("/a/b", "../c"), "/a/c");
  assert.equal(resolveVirtualPath("/", "a/b/../c"), "/a/c");
});

Deno.test(".. is clamped at the root in every position", () => {
  const cases: Array<[string, string, string]> = [
    ["/", "../../etc/passwd", "/etc/passwd"],
    ["/docs", "../../etc/passwd", "/etc/passwd"],
    ["/docs", "a/../../..", "/"],
    ["/docs", "/..", "/"],
    ["/docs", "./../x", "/x"],
    ["/docs", "../../../x/../../y", "/y"],
    ["/a/b", "/../../a/../..", "/"],
  ];
  for (const [cwd, input, expected] of cases) {
    assert.equal(resolveVirtualPath(cwd, input), expected, `${cwd} + ${input}`);
  }
});

Deno.test("percent-encodings are not decoded", () => {
  assert.equal(resolveVirtualPath("/docs", "%2e%2e"), "/docs/%2e%2e");
  assert.equal(resolveVirtualPath("/docs", "%2e%2e%2f%2e%2e"), "/docs/%2e%2e%2f%2e%2e");
});

Deno.test("names that merely contain dots are ordinary", () => {
  assert.equal(resolveVirtualPath("/", "..."), "/...");
  assert.equal(resolveVirtualPath("/", "a..b/.hidden"), "/a..b/.hidden");
});

Deno.test("a NUL byte fails with INVALID_PATH", () => {
  assertRefused("/", "a\0b", "INVALID_PATH", /NUL/);
});

Deno.test("newlines and other control characters fail with INVALID_PATH", () => {
  for (const input of ["a\nb", "a\rb", "\tx", "a\x1fb", "a\x7fb"]) {
    assertRefused("/", input, "INVALID_PATH", /control characters/);
  }
});

Deno.test("a backslash fails with INVALID_PATH explaining it is not a separator", () => {
  assertRefused("/", "a\\b", "INVALID_PATH", /backslashes are not path separators/);
  assertRefused("/", "..\\..\\etc", "INVALID_PATH");
});

Deno.test("a component over 255 UTF-8 bytes fails with INVALID_PATH", () => {
  assert.equal(resolveVirtualPath("/", "x".repeat(MAX_COMPONENT_BYTES)).length, 256);
  assertRefused("/", "x".repeat(MAX_COMPONENT_BYTES + 1), "INVALID_PATH", /255 bytes/);
  assertRefused("/", "é".repeat(128), "INVALID_PATH", /255 bytes/);
});

Deno.test("a path over 4096 UTF-8 bytes fails with INVALID_PATH", () => {
  const longest = "/" + "abc/".repeat(1023) + "abc";
  assert.equal(new TextEncoder().encode(longest).length, MAX_PATH_BYTES);
  assert.ok(resolveVirtualPath("/", longest).startsWith("/abc/"));
  assertRefused("/", longest + "d", "INVALID_PATH", /4096 bytes/);
});

Deno.test("the reserved name at the top fails with PERMISSION_DENIED", () => {
  for (const [cwd, input] of [["/", ".dfos"], ["/", "/.dfos/partial/x"], ["/docs", "../.dfos"]]) {
    assertRefused(cwd, input, "PERMISSION_DENIED", /is reserved/);
  }
  assert.equal(RESERVED_NAME, ".dfos");
});

Deno.test("the reserved name below the top is an ordinary name", () => {
  assert.equal(resolveVirtualPath("/docs", ".dfos"), "/docs/.dfos");
  assert.equal(resolveVirtualPath("/", ".dfos/../x"), "/x");
});

Deno.test("base name, parent and components of virtual paths", () => {
  assert.equal(virtualBaseName("/"), "");
  assert.equal(virtualBaseName("/a"), "a");
  assert.equal(virtualBaseName("/a/b.txt"), "b.txt");
  assert.equal(virtualParent("/"), "/");
  assert.equal(virtualParent("/a"), "/");
  assert.equal(virtualParent("/a/b"), "/a");
  assert.deepEqual(virtualComponents("/"), []);
  assert.deepEqual(virtualComponents("/a/b"), ["a", "b"]);
});
