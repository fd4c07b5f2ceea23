/**
 * Creates and migrates the schema at startup. Migrations are numbered and
 * applied in order, each once, recorded in `schema_migrations`; several
 * nodes starting at once take turns through a PostgreSQL advisory lock held
 * for the transaction, so exactly one applies each migration and the others
 * find it done. A failing migration leaves the schema as it was.
 *
 * @module
 */

import type { Database, TransactionSql } from "./database.ts";
import { SCHEMA_MIGRATIONS } from "./schema.ts";

/** One step of the schema. */
export interface Migration {
  /** Applied in ascending order; never renumbered once released. */
  version: number;
  /** What it does, for the record. */
  name: string;
  /** The statements, run in one transaction. */
  sql: string;
}

/** The advisory lock key all DFOS nodes take while migrating ("DFOS" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x44464f53;

/**
 * Applies every migration newer than what `schema_migrations` records, in one
 * transaction under the migration lock; resolves to the versions applied here.
 *
 * @throws {Error} when the database records a version newer than this build knows.
 */
export function migrate(
  database: Database,
  migrations: readonly Migration[] = SCHEMA_MIGRATIONS,
): Promise<number[]> {
  return database.transaction(async (sql) => {
    await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await sql`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`;
    const [{ current }] = await sql<{ current: number | null }[]>`
      SELECT max(version) AS current FROM schema_migrations`;
    const known = Math.max(0, ...migrations.map((migration) => migration.version));
    if ((current ?? 0) > known) {
      throw new Error(
        `the database's schema is version ${current}, newer than this DFOS knows (${known})`,
      );
    }
    return await applyNewer(sql, migrations, current ?? 0);
  });
}

async function applyNewer(
  sql: TransactionSql,
  migrations: readonly Migration[],
  current: number,
): Promise<number[]> {
  const pending = migrations.filter((migration) => migration.version > current)
    .sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    await sql.unsafe(migration.sql);
    await sql`INSERT INTO schema_migrations (version, name)
              VALUES (${migration.version}, ${migration.name})`;
  }
  return pending.map((migration) => migration.version);
}
