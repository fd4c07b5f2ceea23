import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { SharedLoginGuard } from "../../src/database/login_failures.ts";
import { databaseTest, withMigratedDatabase } from "./database_fixture.ts";

const LIMITS = {
  maxFailuresPerUser: 4,
  maxFailuresPerAddress: 100,
  lockoutMs: 300_000,
  windowMs: 900_000,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
};

/** Two nodes' guards on one database (the second on a pool of its own). */
async function withTwoNodes(
  body: (a: SharedLoginGuard, b: SharedLoginGuard, database: Database) => Promise<void>,
) {
  await withMigratedDatabase(async (database, { url }) => {
    const other = Database.open(url);
    try {
      await body(
        new SharedLoginGuard(database, LIMITS),
        new SharedLoginGuard(other, LIMITS),
        database,
      );
    } finally {
      await other.close();
    }
  });
}

databaseTest(
  "failures spread over two nodes add up to a lockout both nodes enforce",
  () =>
    withTwoNodes(async (a, b) => {
      assert.equal(await a.check("alice", "10.0.0.1"), undefined);
      assert.deepEqual(await a.recordFailure("alice", "10.0.0.1"), {
        delayMs: 250,
        lockedOut: undefined,
      });
      assert.deepEqual(await b.recordFailure("alice", "10.0.0.2"), {
        delayMs: 500,
        lockedOut: undefined,
      });
      assert.equal((await a.recordFailure("alice", "10.0.0.3")).delayMs, 1000);
      const fourth = await b.recordFailure("alice", "10.0.0.4");
      assert.deepEqual(fourth.lockedOut, { scope: "user", retryAfterMs: 300_000 });
      for (const guard of [a, b]) {
        const lockout = await guard.check("alice", "10.0.0.9");
        assert.equal(lockout?.scope, "user");
        assert.ok(lockout!.retryAfterMs > 290_000 && lockout!.retryAfterMs <= 300_000);
      }
      assert.equal(await a.check("bob", "10.0.0.1"), undefined, "other users are not locked out");
      const fifth = await a.recordFailure("alice", "10.0.0.1");
      assert.equal(fifth.lockedOut, undefined, "a lockout in force does not start again");
    }),
);

databaseTest(
  "failures counted by two nodes at once are each counted once",
  () =>
    withTwoNodes(async (a, b, database) => {
      await Promise.all(
        Array.from(
          { length: 20 },
          (_, index) => (index % 2 ? a : b).recordFailure("eve", "10.9.9.9"),
        ),
      );
      const rows = await database.run((sql) =>
        sql<{ scope: string; failures: number }[]>`
        SELECT scope, failures FROM login_failures ORDER BY scope`
      );
      assert.deepEqual(rows.map((row) => [row.scope, row.failures]), [["address", 20], [
        "user",
        20,
      ]]);
      assert.equal(await b.check("nobody", "10.9.9.9"), undefined, "the address is below 100");
      assert.equal((await b.check("eve", "10.9.9.8"))?.scope, "user");
    }),
);

databaseTest(
  "a login that passes clears the user's failures, not the address's",
  () =>
    withTwoNodes(async (a, b) => {
      await a.recordFailure("alice", "10.0.0.1");
      await a.recordFailure("alice", "10.0.0.1");
      await b.recordSuccess("alice");
      assert.equal(
        (await a.recordFailure("alice", "10.0.0.5")).delayMs,
        250,
        "counting again from 1",
      );
      assert.equal((await a.recordFailure("bob", "10.0.0.1")).delayMs, 1000, "the address's third");
    }),
);

databaseTest(
  "failures older than the window are forgotten and a lockout ends when it is over",
  () =>
    withTwoNodes(async (a, b, database) => {
      for (let index = 0; index < 4; index++) await a.recordFailure("alice", "10.0.0.1");
      assert.equal((await b.check("alice", "10.0.0.1"))?.scope, "user");
      await database.run((sql) =>
        sql`UPDATE login_failures SET locked_until = now() - interval '1 second',
            first_at = now() - interval '1 hour'`
      );
      assert.equal(await b.check("alice", "10.0.0.1"), undefined, "the lockout is over");
      const again = await b.recordFailure("alice", "10.0.0.1");
      assert.deepEqual(again, { delayMs: 250, lockedOut: undefined }, "counted from 1 again");
    }),
);

databaseTest(
  "user names too long or holding NUL are counted (by their hash) like any other",
  () =>
    withTwoNodes(async (a, b) => {
      const odd = `x\0${"y".repeat(300)}`;
      for (let index = 0; index < 4; index++) await a.recordFailure(odd, "10.0.0.1");
      assert.equal((await b.check(odd, "10.0.0.2"))?.scope, "user");
      assert.equal(await b.check(`x\0${"y".repeat(299)}`, "10.0.0.2"), undefined);
    }),
);
