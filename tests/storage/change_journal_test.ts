import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ChangeJournal, GROUP_CHANGES } from "../../src/storage/change_journal.ts";
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

const JOURNAL_MODULE = new URL("../../src/storage/change_journal.ts", import.meta.url).href;

/**
 * Runs, in a process of its own, `body` on the journal at `path` (as
 * `journal`), then ends that process with `Deno.exit` right there: no
 * close, no further turn of its event loop, as a killed server ends.
 */
async function endAbruptly(path: string, body: string): Promise<void> {
  const code = `import { ChangeJournal } from ${JSON.stringify(JOURNAL_MODULE)};
    const journal = ChangeJournal.open(${JSON.stringify(path)});
    const file = ${JSON.stringify(FILE)};
    ${body}
    Deno.exit(0);`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stderr: "piped",
  }).output();
  assert.ok(result.success, new TextDecoder().decode(result.stderr));
}

Deno.test("the changes of one turn are committed together once it ends; a process ended before that leaves them out and the journal marked in use", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "journal.db");
  try {
    // Three changes, then the turn ends (a timer fires after the commit's), then the process.
    await endAbruptly(
      path,
      `await journal.put("/a.txt", file); await journal.put("/b.txt", file);
       await journal.delete("/a.txt");
       await new Promise((resolve) => setTimeout(resolve, 0));
       await new Promise((resolve) => setTimeout(resolve, 0));`,
    );
    let journal = ChangeJournal.open(path);
    const firstId = journal.id;
    assert.deepEqual(await journal.lookup("/b.txt"), FILE, "committed at the end of its turn");
    assert.equal(await journal.lookup("/a.txt"), undefined);
    assert.equal(await journal.sequence(), 3);
    await journal.close();
    // Two more in one turn, and the process ends within it: they were never committed.
    await endAbruptly(
      path,
      `await journal.put("/c.txt", file); await journal.put("/d.txt", file);`,
    );
    journal = ChangeJournal.open(path);
    try {
      assert.notEqual(journal.id, firstId, "whatever a cursor saw of it is not trusted again");
      assert.equal((await journal.since(firstId, 3, { limit: 5 })).kind, "expired");
      assert.equal(await journal.lookup("/c.txt"), undefined);
      assert.deepEqual(await journal.lookup("/b.txt"), FILE);
    } finally {
      await journal.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("more changes in one turn than a transaction holds are committed as they fill it, in order", () =>
  withJournal(async (journal) => {
    const count = GROUP_CHANGES * 2 + 3;
    for (let index = 0; index < count; index++) await journal.put(`/f${index}.txt`, FILE);
    assert.equal(await journal.sequence(), count);
    const changes = changesOf(await journal.since(journal.id, 0, { limit: count }));
    assert.deepEqual(
      changes.map((change) => change.path),
      [...Array(count).keys()].map((i) => `/f${i}.txt`),
    );
  }));

/** Mounts a tmpfs of `size` at `target`; false if this process may not mount. */
async function mountTmpfs(target: string, size: string): Promise<boolean> {
  try {
    const args = ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", target];
    return (await new Deno.Command("mount", { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const mountProbe = await Deno.makeTempDir({ prefix: "dfos-journal-mount-probe-" });
const canMount = await mountTmpfs(mountProbe, "64k");
if (canMount) await new Deno.Command("umount", { args: [mountProbe] }).output();
await Deno.remove(mountProbe);

Deno.test({
  name:
    "a commit that fails (a full disk) costs the journal its id, so no cursor that saw the lost changes is trusted; it goes on once there is room",
  // Needs the right to mount a tmpfs (root) to fill a disk.
  ignore: !canMount,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dfos-journal-full-" });
    assert.ok(await mountTmpfs(dir, "1m"));
    try {
      const journal = ChangeJournal.open(join(dir, "journal.db"));
      try {
        await journal.put("/before.txt", FILE);
        await new Promise((resolve) => setTimeout(resolve, 0)); // Committed.
        const seenId = journal.id;
        const filler = join(dir, "filler");
        await Deno.writeFile(filler, new Uint8Array(1024 * 1024)).catch(() => {});
        // Long paths fill pages fast; the commit at the end of the turn cannot write them.
        const long = "x".repeat(2000);
        let failed = false;
        for (let index = 0; index < 200 && !failed; index++) {
          failed = await journal.put(`/${long}/${index}`, FILE).then(() => false, () => true);
        }
        await new Promise((resolve) => setTimeout(resolve, 0));
        assert.notEqual(journal.id, seenId);
        assert.equal((await journal.since(seenId, 1, { limit: 5 })).kind, "expired");
        assert.deepEqual(await journal.lookup("/before.txt"), FILE, "what was committed stays");
        await Deno.remove(filler);
        const at = await journal.sequence();
        await journal.put("/after.txt", FILE);
        await new Promise((resolve) => setTimeout(resolve, 0));
        const changes = changesOf(await journal.since(journal.id, at, { limit: 5 }));
        assert.deepEqual(changes.map((change) => change.path), ["/after.txt"]);
      } finally {
        await journal.close();
      }
      const reopened = ChangeJournal.open(join(dir, "journal.db"));
      try {
        assert.deepEqual(await reopened.lookup("/after.txt"), FILE);
      } finally {
        await reopened.close();
      }
    } finally {
      await new Deno.Command("umount", { args: ["-l", dir] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
