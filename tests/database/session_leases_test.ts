import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { SessionLeases } from "../../src/database/session_leases.ts";
import { waitFor } from "../helpers/processes.ts";
import { databaseTest, withMigratedDatabase } from "./database_fixture.ts";

/** Two nodes' leases on one database (each its own pool), stopped after `body`. */
async function withTwoNodes(
  body: (a: SessionLeases, b: SessionLeases, database: Database) => Promise<void>,
  options: { leaseMs?: number; renewMs?: number } = {},
) {
  await withMigratedDatabase(async (database, { url }) => {
    const other = Database.open(url);
    const a = new SessionLeases(database, options);
    const b = new SessionLeases(other, options);
    try {
      await body(a, b, database);
    } finally {
      a.close();
      b.close();
      await other.close();
    }
  });
}

/** How many leases `user` has in the table, expired or not. */
async function leasesOf(database: Database, user: string): Promise<number> {
  const [{ count }] = await database.run((sql) =>
    sql<
      { count: number }[]
    >`SELECT count(*)::int AS count FROM session_leases WHERE user_name = ${user}`
  );
  return count;
}

databaseTest(
  "a one-session user holding a lease on one node is refused on the other until it ends",
  () =>
    withTwoNodes(async (a, b, database) => {
      const end = await a.claim("alice", 1, 0);
      assert.ok(end, "the first session gets in");
      assert.equal(await b.claim("alice", 1, 0), undefined, "the other node refuses the second");
      assert.equal(await a.claim("alice", 1, 0), undefined, "and so does the first node");
      const bob = await b.claim("bob", 1, 0);
      assert.ok(bob, "other users are not held up");
      end();
      const waiting = await b.claim("alice", 1, 5_000);
      assert.ok(waiting, "the freed slot is taken on the other node");
      assert.equal(await leasesOf(database, "alice"), 1, "one lease: the ended one is gone");
    }),
);

databaseTest(
  "a login on one node waiting at the limit gets the slot of a session ending on the other",
  () =>
    withTwoNodes(async (a, b) => {
      const end = await a.claim("alice", 1, 0);
      assert.ok(end);
      const waiting = b.claim("alice", 1, 10_000);
      let settled = false;
      waiting.then(() => settled = true);
      await b.claim("bob", 1, 0); // A round trip on B's pool, behind the waiting login's first look.
      assert.equal(settled, false, "waits while the slot is taken");
      end();
      assert.ok(await waiting, "the slot freed on node A goes to the login waiting on node B");
      assert.equal(await a.claim("alice", 1, 0), undefined, "and it holds it");
    }),
);

databaseTest(
  "two nodes racing for a two-session user's slots hand out exactly two",
  () =>
    withTwoNodes(async (a, b) => {
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, index) => (index % 2 ? a : b).claim("alice", 2, 0)),
      );
      assert.equal(claims.filter((release) => release !== undefined).length, 2);
    }),
);

databaseTest(
  "a node that stops renewing loses its leases when they expire; renewing keeps them",
  () =>
    withTwoNodes(async (a, b, database) => {
      const expiry = async () => {
        const [row] = await database.run((sql) =>
          sql<{ ms: number }[]>`
          SELECT (extract(epoch FROM max(expires_at)) * 1000)::bigint AS ms FROM session_leases`
        );
        return row.ms;
      };
      assert.ok(await a.claim("alice", 1, 0));
      const before = await expiry();
      await database.run((sql) =>
        sql`UPDATE session_leases SET expires_at = expires_at - interval '20 seconds'`
      );
      await a.renew();
      assert.ok(await expiry() >= before, "a renewal moves the expiry 30 s ahead again");
      assert.equal(await b.claim("alice", 1, 0), undefined);
      a.close(); // Node A dies: nothing renews its lease any more.
      await database.run((sql) =>
        sql`UPDATE session_leases SET expires_at = clock_timestamp() - interval '1 second'`
      );
      assert.ok(await b.claim("alice", 1, 0), "the expired lease no longer counts");
    }),
);

databaseTest(
  "a renewal deletes this node's leases of ended sessions and takes back an expired one",
  () =>
    withTwoNodes(async (a, _b, database) => {
      assert.ok(await a.claim("alice", 5, 0));
      await database.run((sql) =>
        sql`INSERT INTO session_leases VALUES
            (${a.nodeId}, ${crypto.randomUUID()}, 'alice', now() + interval '30 seconds')`
      );
      assert.equal(await leasesOf(database, "alice"), 2);
      await a.renew();
      assert.equal(await leasesOf(database, "alice"), 1, "the lease of no live session is gone");
      await database.run((sql) => sql`DELETE FROM session_leases`);
      await a.renew();
      assert.equal(await leasesOf(database, "alice"), 1, "the live session's lease is back");
    }),
);

databaseTest(
  "a session ending while its node renews leaves no lease behind: the renewal cannot write it back",
  () =>
    withTwoNodes(async (a, b, database) => {
      for (let round = 0; round < 10; round++) {
        const end = await a.claim("alice", 1, 0);
        assert.ok(end);
        const renewal = a.renew();
        end();
        await renewal;
        // The release is not awaited by the session: its delete follows the renewal at once.
        await waitFor(
          async () => (await leasesOf(database, "alice")) === 0,
          3_000,
          `round ${round}: the ended session's lease gone`,
        );
        assert.ok(await b.claim("alice", 1, 0), "the slot is free on the other node");
        await database.run((sql) => sql`DELETE FROM session_leases`);
      }
    }, { renewMs: 3_600_000 }),
);
