import assert from "node:assert/strict";
import { Database, DatabaseUnavailableError } from "../../src/database/database.ts";
import { DatabaseLoginError } from "../../src/database/database_errors.ts";
import { migrate, type Migration } from "../../src/database/migrations.ts";
import { SCHEMA_MIGRATIONS } from "../../src/database/schema.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";

const ignore = postgresMissing() !== undefined;
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: ignore ? `${name} (skipped: ${postgresMissing()})` : name, ignore, fn });

async function withDatabase(body: (url: string) => Promise<void>): Promise<void> {
  const server = await sharedPostgres();
  await body(await server.createDatabase());
}

test("two nodes migrating at once: one applies each migration, the other finds it done", () =>
  withDatabase(async (url) => {
    const first = Database.open(url);
    const second = Database.open(url);
    try {
      const applied = await Promise.all([migrate(first), migrate(second)]);
      const versions = SCHEMA_MIGRATIONS.map((migration) => migration.version);
      assert.deepEqual(applied.flat().sort(), versions, "each version applied exactly once");
      const rows = await first.run((sql) => sql`SELECT version FROM schema_migrations`);
      assert.deepEqual(rows.map((row) => row.version), versions);
      assert.deepEqual(await migrate(first), [], "nothing left to do on the next start");
    } finally {
      await first.close();
      await second.close();
    }
  }));

test("a migration that fails leaves the schema as it was; a later one applies after the earlier", () =>
  withDatabase(async (url) => {
    const database = Database.open(url);
    try {
      const good: Migration = { version: 1, name: "one", sql: "CREATE TABLE one (x int)" };
      const bad: Migration = {
        version: 2,
        name: "two",
        sql: "CREATE TABLE two (x int); SELECT no_such_function()",
      };
      await assert.rejects(migrate(database, [bad, good]), /no_such_function/);
      const tables = () =>
        database.run((sql) =>
          sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`
        );
      assert.deepEqual((await tables()).map((row) => row.tablename), []);
      assert.deepEqual(await migrate(database, [good]), [1]);
      const fixed = { ...bad, sql: "CREATE TABLE two (x int)" };
      assert.deepEqual(await migrate(database, [fixed, good]), [2]);
      assert.deepEqual((await tables()).map((row) => row.tablename), [
        "one",
        "schema_migrations",
        "two",
      ]);
      await assert.rejects(migrate(database, [good]), /schema is version 2, newer than .* \(1\)/);
    } finally {
      await database.close();
    }
  }));

test("a database nobody listens on fails with a clear, retryable error that names host and port only", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const database = Database.open(`postgres://dfos:s3cret-pass@127.0.0.1:${port}/dfos`);
  try {
    const error = await database.run((sql) => sql`SELECT 1`).catch((error) => error);
    assert.ok(error instanceof DatabaseUnavailableError, String(error));
    assert.equal(error.retryable, true);
    assert.match(error.message, new RegExp(`^database unreachable at 127\\.0\\.0\\.1:${port} `));
    assert.doesNotMatch(`${error.message} ${error.stack}`, /s3cret-pass/);
  } finally {
    await database.close();
  }
});

test("a wrong password is refused as a login failure, without printing either password", () =>
  withDatabase(async (url) => {
    const server = await sharedPostgres();
    const wrong = url.replace(`:${server.password}@`, ":wrong-pass@");
    const database = Database.open(wrong);
    try {
      const error = await database.run((sql) => sql`SELECT 1`).catch((error) => error);
      assert.ok(error instanceof DatabaseLoginError, String(error));
      assert.match(error.message, /^the database at 127\.0\.0\.1:\d+ refused the login/);
      assert.doesNotMatch(error.message, new RegExp(`wrong-pass|${server.password}`));
    } finally {
      await database.close();
    }
  }));

Deno.test("a database URL that is not one is refused without repeating it", () => {
  assert.throws(
    () => Database.open("mysql://root:hunter2@db/x"),
    (error: Error) => error instanceof TypeError && !error.message.includes("hunter2"),
  );
  assert.throws(() => Database.open("not a url hunter2"), /not a valid postgres:\/\//);
});

test("a statement over its time limit fails with the retryable error, and the pool goes on", () =>
  withDatabase(async (url) => {
    const database = Database.open(url, { statementTimeoutMs: 200 });
    try {
      const error = await database.run((sql) => sql`SELECT pg_sleep(5)`).catch((error) => error);
      assert.ok(error instanceof DatabaseUnavailableError, String(error));
      assert.match(error.message, /57014/);
      assert.deepEqual([...await database.run((sql) => sql`SELECT 1 AS one`)], [{ one: 1 }]);
    } finally {
      await database.close();
    }
  }));
