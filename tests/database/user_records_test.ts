import assert from "node:assert/strict";
import { Authenticator } from "../../src/auth/authenticator.ts";
import { hashPassword } from "../../src/auth/password_hash.ts";
import { Database } from "../../src/database/database.ts";
import { UserRecords } from "../../src/database/user_records.ts";
import { databaseTest, withMigratedDatabase } from "./database_fixture.ts";

/** Cheap scrypt parameters: these tests are not about cost. */
const FAST = { ln: 10, r: 8, p: 1 };

/** A second node's pool on the same database, closed after `body`. */
async function withSecondNode(url: string, body: (other: Database) => Promise<void>) {
  const other = Database.open(url);
  try {
    await body(other);
  } finally {
    await other.close();
  }
}

databaseTest(
  "users are added, read, changed, listed and removed, each edit whole",
  () =>
    withMigratedDatabase(async (database) => {
      const users = new UserRecords(database);
      const first = await hashPassword("one", FAST);
      const second = await hashPassword("two", FAST);
      assert.equal(await users.add("bob", first), true);
      assert.equal(await users.add("alice", first), true);
      assert.equal(await users.add("alice", second), false, "an existing user is not replaced");
      assert.equal(await users.secretOf("alice"), first);
      assert.deepEqual(await users.names(), ["alice", "bob"]);
      assert.equal(await users.load(), 2);
      assert.equal(await users.setSecret("alice", second), true);
      assert.equal(await users.setSecret("nobody", second), false);
      assert.equal(await users.replaceSecret("alice", first, first), false, "changed meanwhile");
      assert.equal(await users.replaceSecret("alice", second, first), true);
      assert.equal(await users.secretOf("alice"), first);
      assert.equal(await users.remove("alice"), true);
      assert.equal(await users.remove("alice"), false);
      assert.equal(await users.secretOf("alice"), undefined);
      assert.deepEqual(await users.names(), ["bob"]);
    }),
);

databaseTest(
  "a bad name or a secret that is not a hash is refused and nothing is written",
  () =>
    withMigratedDatabase(async (database) => {
      const users = new UserRecords(database);
      const hash = await hashPassword("pw", FAST);
      await assert.rejects(users.add("../evil", hash), RangeError);
      await assert.rejects(users.add("carol", "plaintext"), /not a scrypt hash/);
      await assert.rejects(users.setSecret("carol", "plaintext"), RangeError);
      await assert.rejects(
        users.importUsers([{ name: "dave", secret: hash }, { name: "x y", secret: hash }], false),
        RangeError,
      );
      assert.equal(await users.secretOf("evil\0name"), undefined, "never a query with NUL");
      assert.deepEqual(await users.names(), []);
    }),
);

databaseTest(
  "an import is all or nothing, keeps existing users unless replace, and says what it did",
  () =>
    withMigratedDatabase(async (database) => {
      const users = new UserRecords(database);
      const old = await hashPassword("old", FAST);
      const fresh = await hashPassword("fresh", FAST);
      await users.add("alice", old);
      const tooLong = `${fresh}${"a".repeat(1100)}`; // Refused by the table, after the first rows.
      await assert.rejects(users.importUsers([
        { name: "bob", secret: fresh },
        { name: "carol", secret: tooLong },
      ], true));
      assert.deepEqual(await users.names(), ["alice"], "none of the failed import was applied");
      const kept = await users.importUsers([
        { name: "alice", secret: fresh },
        { name: "bob", secret: fresh },
      ], false);
      assert.deepEqual(kept, { added: 1, replaced: 0, kept: 1 });
      assert.equal(await users.secretOf("alice"), old);
      const replaced = await users.importUsers([{ name: "alice", secret: fresh }], true);
      assert.deepEqual(replaced, { added: 0, replaced: 1, kept: 0 });
      assert.equal(await users.secretOf("alice"), fresh);
    }),
);

databaseTest(
  "two nodes adding one user at once: one succeeds, the other is told it exists",
  () =>
    withMigratedDatabase(async (database, { url }) => {
      await withSecondNode(url, async (other) => {
        const hash = await hashPassword("pw", FAST);
        for (let round = 0; round < 10; round++) {
          const name = `user${round}`;
          const results = await Promise.all([
            new UserRecords(database).add(name, hash),
            new UserRecords(other).add(name, hash),
          ]);
          assert.deepEqual(results.sort(), [false, true]);
        }
      });
    }),
);

databaseTest(
  "a password changed or a user deleted through one node holds on the other at its next login, cache or not",
  () =>
    withMigratedDatabase(async (database, { url }) => {
      await withSecondNode(url, async (other) => {
        const here = new UserRecords(database);
        await here.add("alice", await hashPassword("first", FAST));
        const auth = new Authenticator(new UserRecords(other), undefined, {
          scryptParams: FAST,
          loginCacheMs: 3_600_000,
        });
        assert.equal(await auth.verify("alice", "first"), true);
        assert.equal(await auth.verify("alice", "first"), true);
        assert.equal(auth.checksRun, 1, "the second login was served by the cache");
        await here.setSecret("alice", await hashPassword("second", FAST));
        assert.equal(await auth.verify("alice", "first"), false, "the old password is refused");
        assert.equal(await auth.verify("alice", "second"), true);
        await here.remove("alice");
        assert.equal(await auth.verify("alice", "second"), false, "a deleted user is refused");
        assert.equal(await auth.verify("nobody", "second"), false);
      });
    }),
);

databaseTest(
  "a weakly hashed password in the table is replaced by a fresh hash after a login",
  () =>
    withMigratedDatabase(async (database) => {
      const users = new UserRecords(database);
      const weak = await hashPassword("pw", { ln: 8, r: 8, p: 1 });
      await users.add("alice", weak);
      const outcomes: string[] = [];
      const auth = new Authenticator(users, undefined, {
        scryptParams: FAST,
        onRehash: (outcome) => outcomes.push(outcome.result),
      });
      assert.equal(await auth.verify("alice", "pw"), true);
      assert.deepEqual(outcomes, ["rehashed"]);
      assert.match((await users.secretOf("alice"))!, /^scrypt\$ln=10,/);
      assert.equal(await auth.verify("alice", "pw"), true);
    }),
);
