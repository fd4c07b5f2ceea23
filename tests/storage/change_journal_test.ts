import assert from "node:assert/strict";
import { join } from "node:path";
import { ChangeJournal } from "../../src/storage/change_journal.ts";

const FILE = { kind: "file", size: 5, mtimeMs: 1_700_000_000_000, sha256: "ab" } as const;

async function withJournal(test: (journal: ChangeJournal, path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "journal.db");
  const journal = ChangeJournal.open(path);
  try {
    await test(journal, path);
  } finally {
    journal.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the journal numbers changes in order and answers what changed since a sequence", () =>
  withJournal((journal) => {
    assert.equal(journal.sequence, 0);
    journal.put("/docs", { kind: "directory", size: 0, mtimeMs: 1 });
    journal.put("/docs/a.txt", FILE);
    const seen = journal.sequence;
    journal.put("/docs/a.txt", { ...FILE, size: 6, sha256: "cd" });
    journal.delete("/docs/a.txt");
    const answer = journal.since(journal.id, seen, 100);
    assert.equal(answer.kind, "changes");
    if (answer.kind !== "changes") return;
    assert.deepEqual(answer.changes.map((change) => [change.op, change.path, change.sha256]), [
      ["put", "/docs/a.txt", "cd"],
      ["delete", "/docs/a.txt", undefined],
    ]);
    assert.equal(answer.sequence, journal.sequence);
    assert.equal(answer.more, false);
    assert.equal(journal.lookup("/docs/a.txt"), undefined);
  }));

Deno.test("a folder rename moves every path inside it in the index, in one change", () =>
  withJournal((journal) => {
    journal.put("/a", { kind: "directory", size: 0, mtimeMs: 1 });
    journal.put("/a/x.txt", FILE);
    journal.put("/a/sub/y.txt", { ...FILE, sha256: "ef" });
    journal.put("/ab.txt", FILE);
    const before = journal.sequence;
    journal.rename("/a", "/b");
    assert.deepEqual([...journal.entries("/")].map(([path]) => path), [
      "/ab.txt",
      "/b",
      "/b/sub/y.txt",
      "/b/x.txt",
    ]);
    assert.equal(journal.lookup("/b/sub/y.txt")!.sha256, "ef");
    const answer = journal.since(journal.id, before, 10);
    assert.ok(answer.kind === "changes");
    assert.deepEqual(answer.changes.map((c) => [c.op, c.from, c.path]), [["rename", "/a", "/b"]]);
  }));

Deno.test("deleting a folder forgets what was inside it, and nothing that merely shares its prefix", () =>
  withJournal((journal) => {
    journal.put("/a/x.txt", FILE);
    journal.put("/a-b.txt", FILE);
    journal.put("/a0.txt", FILE);
    journal.delete("/a");
    assert.deepEqual([...journal.entries("/")].map(([path]) => path), ["/a-b.txt", "/a0.txt"]);
  }));

Deno.test("a cursor from another journal, or older than what is kept, is told to list the tree", () =>
  withJournal((journal) => {
    assert.equal(journal.since("another-id", 0, 10).kind, "expired");
    assert.equal(journal.since(journal.id, 5, 10).kind, "expired", "ahead of the journal");
    assert.equal(journal.since(journal.id, 0, 10).kind, "changes");
  }));

Deno.test("a journal with few changes kept expires old cursors and pages long answers", async () => {
  const dir = await Deno.makeTempDir();
  const journal = ChangeJournal.open(join(dir, "journal.db"), { retain: 10 });
  try {
    for (let index = 0; index < 2100; index++) journal.put(`/f${index % 7}`, FILE);
    assert.equal(journal.since(journal.id, 5, 100).kind, "expired");
    const recent = journal.since(journal.id, journal.sequence - 5, 3);
    assert.ok(recent.kind === "changes");
    assert.equal(recent.changes.length, 3);
    assert.equal(recent.more, true);
  } finally {
    journal.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the journal and its id survive reopening", () =>
  withJournal((journal, path) => {
    journal.put("/kept.txt", FILE);
    const reopened = ChangeJournal.open(path);
    try {
      assert.equal(reopened.id, journal.id);
      assert.equal(reopened.sequence, 1);
      assert.deepEqual(reopened.lookup("/kept.txt"), FILE);
    } finally {
      reopened.close();
    }
  }));
