import assert from "node:assert/strict";
import { Database, DatabaseUnavailableError } from "../../src/database/database.ts";
import { ObjectMetadata } from "../../src/database/object_metadata.ts";
import { PostgresJournal } from "../../src/database/postgres_journal.ts";
import { sha256 } from "../helpers/files.ts";
import { databaseTest, withMigratedDatabase } from "./database_fixture.ts";

/** Resolves once some statement on the server waits for a lock (a poll with a deadline). */
async function someoneWaitsForALock(database: Database): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [{ waiting }] = await database.run((sql) =>
      sql`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock'`
    );
    if (waiting > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("no statement started waiting for the lock within 10 s");
}

databaseTest(
  "the database killed mid-rename and restarted: the rename fails with the clear retryable error, nothing of it is applied, the next request works",
  () =>
    withMigratedDatabase(async (database, { url, server }) => {
      const metadata = await ObjectMetadata.open(database, "alice", { journal: true });
      const journal = await PostgresJournal.open(database, "alice");
      await metadata.mkdir("/d");
      const content = new TextEncoder().encode("content");
      const objectId = await metadata.recordObject({ key: "objects/1", size: content.length });
      await metadata.markStored(objectId, sha256(content));
      for (let index = 0; index < 100; index++) {
        await metadata.placeFile(`/d/f${index}`, { objectId, mtimeMs: 1 });
      }
      const sequence = await journal.sequence();
      // Another node holds the user's journal row: the rename moves every name, then waits for it.
      const blocker = Database.open(url);
      const observer = Database.open(url);
      let release: () => void = () => {};
      let locked: () => void = () => {};
      const holding = new Promise<void>((resolve) => locked = resolve);
      const held = blocker.transaction(async (sql) => {
        await sql`SELECT 1 FROM storage_users WHERE user_name = 'alice' FOR UPDATE`;
        locked();
        await new Promise<void>((resolve) => release = resolve);
      }).catch((error) => error);
      try {
        await holding;
        const renaming = metadata.rename("/d", "/e").catch((error) => error);
        await someoneWaitsForALock(observer);
        await server.kill();
        const failure = await renaming;
        assert.ok(failure instanceof DatabaseUnavailableError, String(failure));
        assert.equal(failure.retryable, true);
        assert.match(
          failure.message,
          new RegExp(`^database unreachable at 127\\.0\\.0\\.1:${server.port} `),
        );
        assert.doesNotMatch(failure.message, new RegExp(server.password));
        const whileDown = await metadata.stat("/d").catch((error) => error);
        assert.ok(whileDown instanceof DatabaseUnavailableError, String(whileDown));
        await server.restart();
        // The same pool, nothing restarted on this side.
        assert.equal((await metadata.list("/d")).length, 100, "every name where it was");
        await assert.rejects(metadata.stat("/e"), { name: "StorageError" });
        assert.equal(await journal.sequence(), sequence, "no change recorded");
        await metadata.rename("/d", "/e");
        assert.equal((await metadata.list("/e")).length, 100);
        assert.equal(await journal.sequence(), sequence + 1);
      } finally {
        release();
        await held;
        await blocker.close();
        await observer.close();
      }
    }),
);
