import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ChangeJournal } from "../../src/storage/change_journal.ts";
import type { ChangesSince, Journal } from "../../src/storage/journal.ts";

const FILE = { kind: "file", size: 5, mtimeMs: 1_700_000_000_000, sha256: "ab" } as const;
const FOLDER = { kind: "directory", size: 0, mtimeMs: 1 } as const;

async function withJournal(test: (journal: ChangeJournal, path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "journal.db");
  const journal = ChangeJournal.open(path);
  try {
    await test(journal, path);
  } finally {
    await journal.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function changesOf(answer: ChangesSince) {
  assert.equal(answer.kind, "changes");
  return answer.kind === "changes" ? answer.changes : [];
}

async function pathsIn(journal: Journal, under = "/"): Promise<string[]> {
  return (await journal.entriesAfter(under, null, 1000)).map(([path]) => path);
}

Deno.test("the journal numbers changes in order and answers what changed since a sequence", () =>
  withJournal(async (journal) => {
    assert.equal(await journal.sequence(), 0);
    await journal.put("/docs", FOLDER);
    await journal.put("/docs/a.txt", FILE);
    const seen = await journal.sequence();
    await journal.put("/docs/a.txt", { ...FILE, size: 6, sha256: "cd" });
    await journal.delete("/docs/a.txt");
    const answer = await journal.since(journal.id, seen, { limit: 100 });
    assert.deepEqual(changesOf(answer).map((change) => [change.op, change.path, change.sha256]), [
      ["put", "/docs/a.txt", "cd"],
      ["delete", "/docs/a.txt", undefined],
    ]);
    assert.ok(answer.kind === "changes");
    assert.equal(answer.sequence, await journal.sequence());
    assert.equal(answer.more, false);
    assert.equal(await journal.lookup("/docs/a.txt"), undefined);
  }));

Deno.test("a folder rename moves every path inside it in the index, in one change", () =>
  withJournal(async (journal) => {
    await journal.put("/a", FOLDER);
    await journal.put("/a/x.txt", FILE);
    await journal.put("/a/sub/y.txt", { ...FILE, sha256: "ef" });
    await journal.put("/ab.txt", FILE);
    const before = await journal.sequence();
    await journal.rename("/a", "/b");
    assert.deepEqual(await pathsIn(journal), ["/ab.txt", "/b", "/b/sub/y.txt", "/b/x.txt"]);
    assert.equal((await journal.lookup("/b/sub/y.txt"))!.sha256, "ef");
    const answer = await journal.since(journal.id, before, { limit: 10 });
    assert.deepEqual(changesOf(answer).map((c) => [c.op, c.from, c.path]), [
      ["rename", "/a", "/b"],
    ]);
  }));

Deno.test("deleting a folder forgets what was inside it, and nothing that merely shares its prefix", () =>
  withJournal(async (journal) => {
    await journal.put("/a/x.txt", FILE);
    await journal.put("/a-b.txt", FILE);
    await journal.put("/a0.txt", FILE);
    await journal.delete("/a");
    assert.deepEqual(await pathsIn(journal), ["/a-b.txt", "/a0.txt"]);
  }));

Deno.test("a file put where a folder was replaces the folder's contents in the index", () =>
  withJournal(async (journal) => {
    await journal.put("/a", FOLDER);
    await journal.put("/a/x.txt", FILE);
    await journal.put("/a", FILE);
    assert.deepEqual(await pathsIn(journal), ["/a"]);
  }));

Deno.test("index entries come in pages, in the order of their UTF-8 bytes, inside a folder only", () =>
  withJournal(async (journal) => {
    const paths = ["/a", "/a/x", "/a/\u{1F600}", "/a/\uFF5E", "/a-b", "/a.txt", "/a0"];
    for (const path of paths) await journal.put(path, FILE);
    const inside = await journal.entriesAfter("/a", null, 2);
    assert.deepEqual(inside.map(([path]) => path), ["/a/x", "/a/\uFF5E"]);
    const rest = await journal.entriesAfter("/a", inside[1][0], 10);
    assert.deepEqual(rest.map(([path]) => path), ["/a/\u{1F600}"], "astral after U+FF5E");
    assert.deepEqual(await pathsIn(journal), [
      "/a",
      "/a-b",
      "/a.txt",
      "/a/x",
      "/a/\uFF5E",
      "/a/\u{1F600}",
      "/a0",
    ]);
  }));

Deno.test("changes under a folder: inside it, renames in or out of it, and its parents' deletion; the cursor passes the rest", () =>
  withJournal(async (journal) => {
    await journal.put("/sync", FOLDER);
    const start = await journal.sequence();
    await journal.put("/sync/a.txt", FILE);
    await journal.put("/other/b.txt", FILE);
    await journal.rename("/other/b.txt", "/sync/b.txt");
    await journal.rename("/sync/a.txt", "/other/a.txt");
    await journal.put("/sync-not.txt", FILE);
    await journal.delete("/sync");
    await journal.put("/elsewhere.txt", FILE);
    const answer = await journal.since(journal.id, start, { limit: 100, under: "/sync" });
    assert.deepEqual(changesOf(answer).map((c) => [c.op, c.path]), [
      ["put", "/sync/a.txt"],
      ["rename", "/sync/b.txt"],
      ["rename", "/other/a.txt"],
      ["delete", "/sync"],
    ]);
    assert.ok(answer.kind === "changes");
    assert.equal(answer.sequence, await journal.sequence(), "past the changes it left out");
    const parent = await journal.since(journal.id, start, { limit: 100, under: "/sync/deep/er" });
    assert.deepEqual(changesOf(parent).map((c) => c.path), ["/sync"]);
    const paged = await journal.since(journal.id, start, { limit: 2, under: "/sync" });
    assert.ok(paged.kind === "changes" && paged.more);
    assert.equal(paged.sequence, paged.changes[1].sequence);
  }));

Deno.test("a hash found later goes into the index and into the change that put the file", () =>
  withJournal(async (journal) => {
    const unknown = { kind: "file", size: 3, mtimeMs: 7 } as const;
    await journal.put("/found.txt", unknown);
    assert.equal(
      await journal.rememberHash("/found.txt", { ...unknown, size: 4, sha256: "00" }),
      false,
    );
    assert.equal(await journal.rememberHash("/found.txt", { ...unknown, sha256: "ff" }), true);
    assert.equal((await journal.lookup("/found.txt"))?.sha256, "ff");
    assert.equal(changesOf(await journal.since(journal.id, 0, { limit: 5 }))[0].sha256, "ff");
  }));

Deno.test("a cursor from another journal, or older than what is kept, is told to list the tree", () =>
  withJournal(async (journal) => {
    assert.equal((await journal.since("another-id", 0, { limit: 10 })).kind, "expired");
    assert.equal((await journal.since(journal.id, 5, { limit: 10 })).kind, "expired", "ahead");
    assert.equal((await journal.since(journal.id, 0, { limit: 10 })).kind, "changes");
  }));

Deno.test("a journal with few changes kept expires old cursors and pages long answers", async () => {
  const dir = await Deno.makeTempDir();
  const journal = ChangeJournal.open(join(dir, "journal.db"), { retain: 10 });
  try {
    for (let index = 0; index < 2100; index++) await journal.put(`/f${index % 7}`, FILE);
    assert.equal((await journal.since(journal.id, 5, { limit: 100 })).kind, "expired");
    const recent = await journal.since(journal.id, (await journal.sequence()) - 5, { limit: 3 });
    assert.equal(changesOf(recent).length, 3);
    assert.ok(recent.kind === "changes" && recent.more);
  } finally {
    await journal.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a journal closed cleanly keeps its id, changes and index when reopened", () =>
  withJournal(async (journal, path) => {
    await journal.put("/kept.txt", FILE);
    await journal.close();
    const reopened = ChangeJournal.open(path);
    try {
      assert.equal(reopened.id, journal.id);
      assert.equal(await reopened.sequence(), 1);
      assert.deepEqual(await reopened.lookup("/kept.txt"), FILE);
      assert.equal(changesOf(await reopened.since(journal.id, 0, { limit: 5 })).length, 1);
    } finally {
      await reopened.close();
    }
  }));

Deno.test("a journal left marked in use gets a new id: old cursors expire, the index and the count stay", () =>
  withJournal(async (journal, path) => {
    await journal.put("/kept.txt", FILE);
    await journal.close();
    // What a killed server leaves: the mark it set when it opened the journal.
    const db = new DatabaseSync(path);
    db.exec("UPDATE meta SET value = '1' WHERE key = 'in-use'");
    db.close();
    const reopened = ChangeJournal.open(path);
    try {
      assert.notEqual(reopened.id, journal.id);
      assert.equal((await reopened.since(journal.id, 1, { limit: 5 })).kind, "expired");
      assert.equal(await reopened.sequence(), 1, "sequences are never handed out twice");
      assert.deepEqual(changesOf(await reopened.since(reopened.id, 1, { limit: 5 })), []);
      assert.deepEqual(await reopened.lookup("/kept.txt"), FILE);
      assert.equal((await reopened.put("/new.txt", FILE)).sequence, 2);
    } finally {
      await reopened.close();
    }
  }));
