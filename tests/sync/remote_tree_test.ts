import assert from "node:assert/strict";
import { applyJournal, relativeTo } from "../../src/sync/remote_tree.ts";
import type { SyncEntry } from "../../src/sync/sync_entry.ts";
import type { JournalChange } from "../../src/storage/change_journal.ts";

const file = (sha256: string): SyncEntry => ({ kind: "file", size: 1, mtimeNs: 0n, sha256 });
let sequence = 0;
const change = (fields: Omit<JournalChange, "sequence">): JournalChange => ({
  sequence: ++sequence,
  ...fields,
});

Deno.test("journal changes under the synced folder update the remote tree; others are ignored", () => {
  const tree = new Map<string, SyncEntry>([
    ["a.txt", file("a")],
    ["d", { kind: "directory", size: 0, mtimeNs: 0n }],
    ["d/x.txt", file("x")],
  ]);
  const { relist } = applyJournal(tree, "/sync", [
    change({ op: "put", path: "/sync/a.txt", kind: "file", size: 2, mtimeMs: 5, sha256: "a2" }),
    change({ op: "put", path: "/elsewhere.txt", kind: "file", size: 1, mtimeMs: 1, sha256: "e" }),
    change({ op: "rename", from: "/sync/d", path: "/sync/e" }),
    change({ op: "rename", from: "/outside", path: "/sync/in" }),
    change({ op: "rename", from: "/sync/a.txt", path: "/gone.txt" }),
    change({ op: "mkdir", path: "/sync/new", kind: "directory", size: 0, mtimeMs: 1 }),
  ]);
  assert.deepEqual([...tree.keys()].sort(), ["e", "e/x.txt", "new"]);
  assert.equal(tree.get("e/x.txt")!.sha256, "x");
  assert.deepEqual(relist, ["in"]);
});

Deno.test("a file written where a folder was replaces the folder and everything in it", () => {
  const tree = new Map<string, SyncEntry>([
    ["d", { kind: "directory", size: 0, mtimeNs: 0n }],
    ["d/x.txt", file("x")],
  ]);
  applyJournal(tree, "/", [
    change({ op: "put", path: "/d", kind: "file", size: 1, mtimeMs: 2, sha256: "f" }),
  ]);
  assert.deepEqual([...tree.entries()], [["d", {
    kind: "file",
    size: 1,
    mtimeNs: 2_000_000n,
    sha256: "f",
  }]]);
});

Deno.test("paths relative to the synced folder", () => {
  assert.equal(relativeTo("/", "/a/b"), "a/b");
  assert.equal(relativeTo("/s", "/s"), "");
  assert.equal(relativeTo("/s", "/s/a"), "a");
  assert.equal(relativeTo("/s", "/sx/a"), undefined);
});

Deno.test("the paths the changes touched are all that differ from the tree before them", () => {
  const before = new Map<string, SyncEntry>([
    ["a.txt", file("a")],
    ["b.txt", file("b")],
    ["d", { kind: "directory", size: 0, mtimeNs: 0n }],
    ["d/x.txt", file("x")],
    ["d/y.txt", file("y")],
  ]);
  const tree = new Map(before);
  const { touched } = applyJournal(tree, "/", [
    change({ op: "put", path: "/a.txt", kind: "file", size: 2, mtimeMs: 5, sha256: "a2" }),
    change({ op: "rename", from: "/d", path: "/e" }),
    change({ op: "delete", path: "/e/y.txt" }),
  ]);
  const differing = new Set(
    [...new Set([...before.keys(), ...tree.keys()])].filter((path) =>
      JSON.stringify(before.get(path), (_, v) => typeof v === "bigint" ? `${v}` : v) !==
        JSON.stringify(tree.get(path), (_, v) => typeof v === "bigint" ? `${v}` : v)
    ),
  );
  for (const path of differing) assert.ok(touched.has(path), `${path} differs but was not touched`);
  assert.ok(!touched.has("b.txt"), "what no change named is not touched");
});
