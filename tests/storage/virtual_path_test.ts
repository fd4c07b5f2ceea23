import assert from "node:assert/strict";
import { MAX_PATH_BYTES, MAX_VIRTUAL_PATH_BYTES } from "../../src/protocol/constants.ts";
import { statusName } from "../../src/protocol/status.ts";
import { StorageError } from "../../src/storage/storage.ts";
import {
  MAX_COMPONENT_BYTES,
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

/** "/abc/abc/…" of exactly `bytes` bytes. */
function pathOf(bytes: number): string {
  return ("/" + "abc/".repeat(bytes)).slice(0, bytes).replace(/\/$/, "x");
}

Deno.test("a path over 3072 bytes once resolved fails with INVALID_PATH saying the limit", () => {
  const longest = pathOf(MAX_VIRTUAL_PATH_BYTES);
  assert.equal(new TextEncoder().encode(longest).length, MAX_VIRTUAL_PATH_BYTES);
  assert.equal(resolveVirtualPath("/", longest), longest);
  assertRefused("/", longest + "d", "INVALID_PATH", /3073 bytes long; paths may be at most 3072/);
  assertRefused("/", pathOf(4080), "INVALID_PATH", /^"\/abc\/abc.*…": the path is 4080 bytes/);
  // Relative to a deep working directory: the resolved path is what counts.
  const deep = pathOf(3000);
  assert.equal(resolveVirtualPath(deep, "de"), `${deep}/de`);
  assertRefused(deep, "d".repeat(80), "INVALID_PATH", /3081 bytes long once resolved/);
  // A long input that resolves short is fine; a component over 255 bytes or an input over the
  // path field's own limit is refused whatever it resolves to.
  assert.equal(resolveVirtualPath("/", "a/../".repeat(800) + "b"), "/b");
  assertRefused("/", "a/".repeat(MAX_PATH_BYTES / 2) + "b", "INVALID_PATH", /4096 bytes/);
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
