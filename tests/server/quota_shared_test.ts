/**
 * The quota kept in PostgreSQL (src/database/quota_reservations.ts) behind
 * the one check of src/server/quota.ts: two nodes (two pools on one
 * database) see each other's reservations at once, a node that stops
 * renewing loses them at their expiry, a node that renews keeps them, and a
 * database that cannot be reached refuses the upload retryably.
 */

import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { DatabaseUnavailableError } from "../../src/database/database_errors.ts";
import { QuotaReservations } from "../../src/database/quota_reservations.ts";
import { STATUS } from "../../src/protocol/status.ts";
import { QuotaLedger } from "../../src/server/quota.ts";
import { type Storage, StorageError } from "../../src/storage/storage.ts";
import { databaseTest, withMigratedDatabase } from "../database/database_fixture.ts";
import { freePort } from "../helpers/daemons.ts";
import { waitFor } from "../helpers/processes.ts";

/** The storage a ledger is handed: the shared book reads usage from the database, not from it. */
const STORAGE = {
  listPartials: () => Promise.reject(new Error("not asked")),
} as unknown as Storage;

interface Node {
  ledger: QuotaLedger;
  book: QuotaReservations;
}

/** Two nodes' quota of `quotaBytes` on one fresh database (each its own pool). */
async function withTwoNodes(
  quotaBytes: number,
  body: (a: Node, b: Node, database: Database) => Promise<void>,
  options: { leaseMs?: number; renewMs?: number } = {},
) {
  await withMigratedDatabase(async (database, { url }) => {
    const other = Database.open(url);
    const books = [new QuotaReservations(database, options), new QuotaReservations(other, options)];
    const [a, b] = books.map((book) => ({
      book,
      ledger: new QuotaLedger({ quotaBytes }, { book }),
    }));
    try {
      await body(a, b, database);
    } finally {
      for (const book of books) book.close();
      await other.close();
    }
  });
}

function refused(error: unknown): boolean {
  return error instanceof StorageError && error.code === STATUS.QUOTA_EXCEEDED;
}

/** The reservations of `user` in the table, expired or not. */
async function reservationsOf(database: Database, user: string) {
  return await database.run((sql) =>
    sql<{ bytes: number; expires: number }[]>`
      SELECT bytes, extract(epoch FROM expires_at) * 1000 AS expires
      FROM quota_reservations WHERE user_name = ${user}`
  );
}

databaseTest(
  "an upload reserving on node A counts on node B at once, and its end frees it on both",
  () =>
    withTwoNodes(1000, async (a, b, database) => {
      const first = await a.ledger.reserve("alice", STORAGE, "/a", 600);
      const message = await b.ledger.reserve("alice", STORAGE, "/b", 500).then(
        () => assert.fail("the second upload fits only without the first's reservation"),
        (error) => (assert.ok(refused(error), String(error)), error.message),
      );
      assert.equal(
        message,
        "/b: quota exceeded: the upload needs 500 B, but only 400 B of alice's 1000 B quota is free",
      );
      await assert.rejects(a.ledger.reserve("alice", STORAGE, "/c", 401), refused);
      (await b.ledger.reserve("bob", STORAGE, "/b", 1000))(0); // Other users are not held up.
      assert.equal((await reservationsOf(database, "alice")).length, 1, "nothing left by refusals");
      first(0);
      await waitFor(
        async () => (await reservationsOf(database, "alice")).length === 0,
        5_000,
        "the release",
      );
      (await b.ledger.reserve("alice", STORAGE, "/b", 1000))(0);
      await waitFor(
        async () => (await reservationsOf(database, "alice")).length === 0,
        5_000,
        "the release",
      );
      (await a.ledger.reserve("alice", STORAGE, "/a", 1000))(0);
    }),
);

databaseTest(
  "a node that stops renewing (killed) holds its reservations only until they expire",
  () =>
    withTwoNodes(1000, async (a, b, database) => {
      await a.ledger.reserve("alice", STORAGE, "/a", 1000); // Never released: the node dies.
      a.book.close();
      await assert.rejects(b.ledger.reserve("alice", STORAGE, "/b", 1), refused);
      const release = await waitFor(
        () => b.ledger.reserve("alice", STORAGE, "/b", 1000).catch(() => undefined),
        10_000,
        "the dead node's reservation to expire",
      );
      assert.equal((await reservationsOf(database, "alice")).length, 1, "the expired one is gone");
      release(0);
    }, { leaseMs: 400, renewMs: 60_000 }),
);

databaseTest(
  "a node that renews keeps its reservation past many lease lengths",
  () =>
    withTwoNodes(1000, async (a, b, database) => {
      const release = await a.ledger.reserve("alice", STORAGE, "/a", 1000);
      const [{ expires: first }] = await reservationsOf(database, "alice");
      await waitFor(
        async () => (await reservationsOf(database, "alice"))[0].expires > first + 5 * 300,
        10_000,
        "five lease lengths of renewals",
      );
      await assert.rejects(b.ledger.reserve("alice", STORAGE, "/b", 1), refused, "still held");
      release(0);
      await waitFor(
        async () => (await reservationsOf(database, "alice")).length === 0,
        5_000,
        "the release",
      );
    }, { leaseMs: 300, renewMs: 50 }),
);

databaseTest(
  "a renewal drops this node's reservations whose delete failed, and makes again one that expired",
  () =>
    withTwoNodes(1000, async (a, _b, database) => {
      const release = await a.ledger.reserve("alice", STORAGE, "/a", 700);
      await database.run((sql) => sql`DELETE FROM quota_reservations`); // As if it had expired and gone.
      await a.book.renew();
      assert.deepEqual((await reservationsOf(database, "alice")).map((row) => row.bytes), [700]);
      await database.run((sql) =>
        sql`INSERT INTO quota_reservations VALUES (${a.book.nodeId}, ${crypto.randomUUID()}, 'alice', 300, now() + interval '1 hour')`
      ); // An ended upload's, whose delete failed.
      await a.book.renew();
      assert.deepEqual((await reservationsOf(database, "alice")).map((row) => row.bytes), [700]);
      release(0);
    }, { renewMs: 60_000 }),
);

databaseTest(
  "an upload that ends while its node renews is not written back by that renewal",
  () =>
    withTwoNodes(1000, async (a, _b, database) => {
      for (let round = 0; round < 10; round++) {
        const release = await a.ledger.reserve("alice", STORAGE, "/a", 1000);
        const renewing = a.book.renew(); // Has read the reservation as live.
        release(0);
        await renewing;
        await waitFor(
          async () => (await reservationsOf(database, "alice")).length === 0,
          3_000,
          `the release in round ${round}`,
        );
      }
    }, { renewMs: 60_000 }),
);

Deno.test("the database unreachable during the check: a retryable error, never an upload past the quota", async () => {
  const database = Database.open(`postgres://dfos@127.0.0.1:${freePort()}/none`, {
    connectTimeoutMs: 1_000,
  });
  const book = new QuotaReservations(database, { renewMs: 60_000 });
  try {
    const ledger = new QuotaLedger({ quotaBytes: 1000 }, { book });
    const error = await ledger.reserve("alice", STORAGE, "/a", 1).then(
      () => assert.fail("reserved without the database"),
      (error) => error,
    );
    assert.ok(error instanceof DatabaseUnavailableError, String(error));
    assert.equal(error.retryable, true);
    assert.match(error.message, /^database unreachable at 127\.0\.0\.1:\d+ \(.*\); try again$/);
  } finally {
    book.close();
    await database.close(0);
  }
});
