/**
 * A fresh, migrated database on the test file's PostgreSQL server for each
 * test, and the wrapper that skips a test where PostgreSQL cannot run.
 *
 * @module
 */

import { Database, type DatabaseOptions } from "../../src/database/database.ts";
import { migrate } from "../../src/database/migrations.ts";
import { postgresMissing, sharedPostgres, type TestPostgres } from "../helpers/postgres.ts";

/** Why the database tests are skipped here, or undefined. */
export const POSTGRES_MISSING = postgresMissing();

/** Registers a test that needs PostgreSQL: ignored, with the reason, where it cannot run. */
export function databaseTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: POSTGRES_MISSING === undefined ? name : `${name} (skipped: ${POSTGRES_MISSING})`,
    ignore: POSTGRES_MISSING !== undefined,
    fn,
  });
}

/** A migrated database of its own, its URL and server, closed and left after `body`. */
export async function withMigratedDatabase(
  body: (database: Database, context: { url: string; server: TestPostgres }) => Promise<void>,
  options: DatabaseOptions = {},
): Promise<void> {
  const server = await sharedPostgres();
  const url = await server.createDatabase();
  const database = Database.open(url, options);
  try {
    await migrate(database);
    await body(database, { url, server });
  } finally {
    await database.close();
  }
}
