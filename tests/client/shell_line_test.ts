import assert from "node:assert/strict";
import { UsageError } from "../../src/client/errors.ts";
import { parseShellLine } from "../../src/client/shell_line.ts";

Deno.test("blank lines and lines starting with # are comments", () => {
  for (const line of ["", "   ", "\t", "# a comment", "   # indented", "#put x"]) {
    assert.deepEqual(parseShellLine(line), { kind: "comment" }, JSON.stringify(line));
  }
});

Deno.test("a # later in the line is part of a word", () => {
  assert.deepEqual(parseShellLine("put a#b"), {
    kind: "command",
    words: ["put", "a#b"],
    ignoreFailure: false,
  });
});

Deno.test("a leading - marks a command whose failure is ignored, and is removed", () => {
  assert.deepEqual(parseShellLine("-rm old.txt"), {
    kind: "command",
    words: ["rm", "old.txt"],
    ignoreFailure: true,
  });
  assert.deepEqual(parseShellLine("  - ls 'a b'"), {
    kind: "command",
    words: ["ls", "a b"],
    ignoreFailure: true,
  });
  assert.deepEqual(parseShellLine("-"), { kind: "comment" });
  assert.deepEqual(parseShellLine("ls -l"), {
    kind: "command",
    words: ["ls", "-l"],
    ignoreFailure: false,
  });
});

Deno.test("an unterminated quote is a UsageError", () => {
  assert.throws(() => parseShellLine("get 'x"), UsageError);
});
