import assert from "node:assert/strict";
import { treeFailure, treeSummary } from "../../src/client/transfer_commands.ts";
import type { TreeResult } from "../../src/client/tree_transfer.ts";

function result(fields: Partial<TreeResult>): TreeResult {
  return { files: 0, directories: 0, bytes: 0, refused: [], failures: [], skipped: [], ...fields };
}

Deno.test("the tree summary counts in the singular for one and the plural otherwise", () => {
  assert.equal(
    treeSummary(result({ files: 1, directories: 1, bytes: 1 })),
    "1 file, 1 directory, 1 byte",
  );
  assert.equal(treeSummary(result({})), "0 files, 0 directories, 0 bytes");
  assert.equal(
    treeSummary(result({
      files: 2,
      directories: 3,
      bytes: 300,
      refused: ["a", "b"],
      skipped: [{ path: "l", kind: "symlink" }],
    })),
    "2 files, 3 directories, 300 bytes, 2 refused, 1 skipped",
  );
});

Deno.test("a tree's final error says what failed and what was refused, and how to replace", () => {
  assert.equal(treeFailure(result({ files: 5 }), "locally"), undefined);
  assert.equal(
    treeFailure(result({ refused: ["a.txt"] }), "locally"),
    "refused 1 file that already exists locally (use -f to replace it)",
  );
  assert.equal(
    treeFailure(result({ files: 1, refused: ["a", "b"] }), "on the server"),
    "refused 2 files that already exist on the server (use -f to replace them)",
  );
  assert.equal(
    treeFailure(result({ files: 0, failures: [{ path: "a", error: new Error("x") }] }), "locally"),
    "1 of 1 file failed",
  );
  assert.equal(
    treeFailure(
      result({ files: 2, refused: ["b"], failures: [{ path: "a", error: new Error("x") }] }),
      "locally",
    ),
    "1 of 4 files failed; refused 1 file that already exists locally (use -f to replace it)",
  );
});
