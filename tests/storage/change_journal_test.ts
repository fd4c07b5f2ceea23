import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ChangeJournal } from "../../src/storage/change_journal.ts";
import type { ChangesSince } from "../../src/storage/journal.ts";
import { runJournalContract } from "./journal_contract.ts";

const FILE = { kind: "file", size: 5, mtimeMs: 1_700_000_000_000, sha256: "ab" } as const;

runJournalContract({
  name: "ChangeJournal",
  async open(options = {}) {
    const dir = await Deno.makeTempDir();
    const path = join(dir, "journal.db");
    const journal = ChangeJournal.open(path, options);
    return {
      journal,
      reopen: () => Promise.resolve(ChangeJournal.open(path, options)),
      async dispose() {
        await journal.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  },
});

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
