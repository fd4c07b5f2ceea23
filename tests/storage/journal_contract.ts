/**
 * The contract every {@link Journal} must pass, whatever keeps it: the local
 * SQLite journal (change_journal_test.ts) and the PostgreSQL one
 * (tests/database/postgres_journal_test.ts) each call {@link runJournalContract}
 * with a factory of fresh, empty journals; every case runs against each.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ChangesSince, Journal } from "../../src/storage/journal.ts";

/** A fresh, empty journal and the hooks the contract needs. */
export interface JournalFixture {
  journal: Journal;
  /** Closes nothing; opens the same journal again (as after a clean restart). */
  reopen(): Promise<Journal>;
  /** Deletes everything the fixture created (closing the journal first). */
  dispose(): Promise<void>;
}

/** One kind of journal the contract runs against. */
export interface JournalBackend {
  name: string;
  /** Makes a fresh journal keeping `retain` changes (default: the journal's own). */
  open(options?: { retain?: number }): Promise<JournalFixture>;
  /** Why the backend cannot run here (every case is then ignored with it). */
  missing?: string;
}

type Body = (journal: Journal, fixture: JournalFixture) => Promise<void>;

const FILE = { kind: "file", size: 5, mtimeMs: 1_700_000_000_000, sha256: "ab" } as const;
const FOLDER = { kind: "directory", size: 0, mtimeMs: 1 } as const;

function changesOf(answer: ChangesSince) {
  assert.equal(answer.kind, "changes");
  return answer.kind === "changes" ? answer.changes : [];
}

async function pathsIn(journal: Journal, under = "/"): Promise<string[]> {
  return (await journal.entriesAfter(under, null, 1000)).map(([path]) => path);
}

/** Registers every case with `Deno.test`, named "`backend`: behaviour". */
export function runJournalContract(backend: JournalBackend): void {
  const test = (name: string, body: Body, retain?: number) =>
    Deno.test({
      name: backend.missing === undefined
        ? `${backend.name}: ${name}`
        : `${backend.name}: ${name} (skipped: ${backend.missing})`,
      ignore: backend.missing !== undefined,
      fn: async () => {
        const fixture = await backend.open({ retain });
        try {
          await body(fixture.journal, fixture);
        } finally {
          await fixture.dispose();
        }
      },
    });
  registerCases(test);
}

function registerCases(define: (name: string, body: Body, retain?: number) => void): void {
  define(
    "the journal numbers changes in order and answers what changed since a sequence",
    async (journal) => {
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
    },
  );

  define(
    "a folder rename moves every path inside it in the index, in one change",
    async (journal) => {
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
    },
  );

  define(
    "deleting a folder forgets what was inside it, and nothing that merely shares its prefix",
    async (journal) => {
      await journal.put("/a/x.txt", FILE);
      await journal.put("/a-b.txt", FILE);
      await journal.put("/a0.txt", FILE);
      await journal.delete("/a");
      assert.deepEqual(await pathsIn(journal), ["/a-b.txt", "/a0.txt"]);
    },
  );

  define(
    "a file put where a folder was replaces the folder's contents in the index",
    async (journal) => {
      await journal.put("/a", FOLDER);
      await journal.put("/a/x.txt", FILE);
      await journal.put("/a", FILE);
      assert.deepEqual(await pathsIn(journal), ["/a"]);
    },
  );

  define(
    "index entries come in pages, in the order of their UTF-8 bytes, inside a folder only",
    async (journal) => {
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
    },
  );

  define(
    "changes under a folder: inside it, renames in or out of it, and its parents' deletion; the cursor passes the rest",
    async (journal) => {
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
    },
  );

  define(
    "a hash found later goes into the index and into the change that put the file",
    async (journal) => {
      const unknown = { kind: "file", size: 3, mtimeMs: 7 } as const;
      await journal.put("/found.txt", unknown);
      assert.equal(
        await journal.rememberHash("/found.txt", { ...unknown, size: 4, sha256: "00" }),
        false,
      );
      assert.equal(await journal.rememberHash("/found.txt", { ...unknown, sha256: "ff" }), true);
      assert.equal((await journal.lookup("/found.txt"))?.sha256, "ff");
      assert.equal(changesOf(await journal.since(journal.id, 0, { limit: 5 }))[0].sha256, "ff");
    },
  );

  define(
    "a cursor from another journal, or older than what is kept, is told to list the tree",
    async (journal) => {
      assert.equal((await journal.since("another-id", 0, { limit: 10 })).kind, "expired");
      assert.equal((await journal.since(journal.id, 5, { limit: 10 })).kind, "expired", "ahead");
      assert.equal((await journal.since(journal.id, 0, { limit: 10 })).kind, "changes");
    },
  );

  define(
    "a journal with few changes kept expires old cursors and pages long answers",
    async (journal) => {
      for (let index = 0; index < 2100; index++) await journal.put(`/f${index % 7}`, FILE);
      assert.equal((await journal.since(journal.id, 5, { limit: 100 })).kind, "expired");
      const recent = await journal.since(journal.id, (await journal.sequence()) - 5, { limit: 3 });
      assert.equal(changesOf(recent).length, 3);
      assert.ok(recent.kind === "changes" && recent.more);
    },
    10,
  );

  define(
    "a journal closed cleanly keeps its id, changes and index when reopened",
    async (journal, fixture) => {
      await journal.put("/kept.txt", FILE);
      await journal.close();
      const reopened = await fixture.reopen();
      try {
        assert.equal(reopened.id, journal.id);
        assert.equal(await reopened.sequence(), 1);
        assert.deepEqual(await reopened.lookup("/kept.txt"), FILE);
        assert.equal(changesOf(await reopened.since(journal.id, 0, { limit: 5 })).length, 1);
      } finally {
        await reopened.close();
      }
    },
  );

  define("a closed journal refuses further calls", async (journal) => {
    await journal.close();
    await assert.rejects(journal.put("/late.txt", FILE), /closed/);
    await assert.rejects(journal.sequence(), /closed/);
  });
}
