import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { JournalSignal } from "../../src/database/journal_signal.ts";
import { migrate } from "../../src/database/migrations.ts";
import { PostgresJournal } from "../../src/database/postgres_journal.ts";
import { sharedPostgres } from "../helpers/postgres.ts";
import { runJournalContract } from "../storage/journal_contract.ts";
import { databaseTest, POSTGRES_MISSING, withMigratedDatabase } from "./database_fixture.ts";

const FILE = { kind: "file", size: 5, mtimeMs: 1_700_000_000_000, sha256: "ab" } as const;

runJournalContract({
  name: "PostgresJournal",
  missing: POSTGRES_MISSING,
  async open(options = {}) {
    const server = await sharedPostgres();
    const database = Database.open(await server.createDatabase());
    await migrate(database);
    const journal = await PostgresJournal.open(database, "alice", options);
    return {
      journal,
      reopen: () => PostgresJournal.open(database, "alice", options),
      async dispose() {
        await journal.close();
        await database.close();
      },
    };
  },
});

databaseTest(
  "two nodes writing one user's journal at once: every change numbered once, in order",
  () =>
    withMigratedDatabase(async (database, { url }) => {
      const other = Database.open(url);
      try {
        const [mine, theirs] = await Promise.all([
          PostgresJournal.open(database, "alice"),
          PostgresJournal.open(other, "alice"),
        ]);
        assert.equal(mine.id, theirs.id, "one journal, whichever node opens it");
        const writes = Array.from(
          { length: 40 },
          (_, index) => (index % 2 === 0 ? mine : theirs).put(`/f${index}`, FILE),
        );
        const sequences = (await Promise.all(writes)).map((change) => change.sequence);
        assert.deepEqual(
          sequences.toSorted((a, b) => a - b),
          [...Array(40).keys()].map((n) => n + 1),
        );
        const answer = await mine.since(mine.id, 0, { limit: 100 });
        assert.ok(answer.kind === "changes");
        assert.equal(answer.changes.length, 40);
        assert.equal(answer.sequence, 40);
      } finally {
        await other.close();
      }
    }),
);

databaseTest(
  "users' journals are apart: each has its own id, sequence and index",
  () =>
    withMigratedDatabase(async (database) => {
      const alice = await PostgresJournal.open(database, "alice");
      const bob = await PostgresJournal.open(database, "bob");
      assert.notEqual(alice.id, bob.id);
      await alice.put("/a.txt", FILE);
      assert.equal(await bob.sequence(), 0);
      assert.equal(await bob.lookup("/a.txt"), undefined);
      assert.equal((await bob.since(alice.id, 0, { limit: 5 })).kind, "expired");
    }),
);

databaseTest(
  "a change made through one connection signals the user's subscribers on another, once committed",
  () =>
    withMigratedDatabase(async (database, { url }) => {
      const writer = Database.open(url);
      const signal = new JournalSignal(database);
      try {
        const heard: string[] = [];
        let wake: () => void = () => {};
        const unsubscribeAlice = await signal.subscribe("alice", () => {
          heard.push("alice");
          wake();
        });
        const unsubscribeBob = await signal.subscribe("bob", () => heard.push("bob"));
        const journal = await PostgresJournal.open(writer, "alice");
        const moved = new Promise<void>((resolve) => wake = resolve);
        const change = await journal.put("/a.txt", FILE);
        await moved;
        assert.deepEqual(heard, ["alice"], "bob's subscriber heard nothing");
        assert.equal(await journal.sequence(), change.sequence, "visible when signalled");
        await unsubscribeAlice();
        await unsubscribeBob();
        // Unsubscribed: a later change reaches nobody (checked by a fresh subscriber's signal).
        const again = new Promise<void>((resolve) => wake = resolve);
        const unsubscribeLast = await signal.subscribe("alice", () => wake());
        await journal.put("/b.txt", FILE);
        await again;
        assert.deepEqual(heard, ["alice"]);
        await unsubscribeLast();
      } finally {
        await writer.close();
      }
    }),
);

databaseTest(
  "a path that is not normalised or too long is refused before it reaches the database",
  () =>
    withMigratedDatabase(async (database) => {
      const journal = await PostgresJournal.open(database, "alice");
      for (
        const path of ["a.txt", "/a/../b", "/a//b", "/a/", "/x\u0000y", "/" + "x".repeat(3100)]
      ) {
        await assert.rejects(journal.put(path, FILE), { name: "StorageError" }, path);
      }
      assert.equal(await journal.sequence(), 0, "nothing recorded");
    }),
);
