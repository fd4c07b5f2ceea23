/**
 * The PostgreSQL database that several DFOS nodes share their state through
 * (`--database`): opened at startup, its schema brought up to date (one node
 * at a time, migrations.ts), closed at shutdown. Without `--database` a
 * server keeps its state on its own and opens no database.
 *
 * The password comes from the URL, from `--database-password-file` (its
 * first line), or from PostgreSQL's own `PGPASSWORD`; no message names it.
 *
 * @module
 */

import { Database } from "../database/database.ts";
import { migrate } from "../database/migrations.ts";
import { serverLog } from "../log/logging.ts";

/** Where the shared database is. */
export interface DatabaseConfig {
  /** `postgres://USER@HOST:PORT/NAME`. */
  url: string;
  /** A file whose first line is the password (the URL's own is replaced). */
  passwordFile?: string;
}

/** Longest password file read: a password is one line. */
const MAX_PASSWORD_FILE_BYTES = 4096;

/**
 * Opens the database of `config` and applies the migrations it lacks;
 * rejects with a clear error (the database unreachable, the password
 * refused, a schema newer than this DFOS) without opening anything.
 */
export async function openSharedDatabase(config: DatabaseConfig): Promise<Database> {
  const url = config.passwordFile === undefined
    ? config.url
    : withPassword(config.url, await readPasswordFile(config.passwordFile));
  const database = Database.open(url);
  try {
    const applied = await migrate(database);
    serverLog.info("shared state in PostgreSQL at {address}{migrated}", {
      address: database.address,
      migrated: applied.length === 0 ? "" : ` (schema migrated to version ${applied.at(-1)})`,
    });
    return database;
  } catch (error) {
    await database.close(0).catch(() => {});
    throw error;
  }
}

async function readPasswordFile(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new Error(`cannot read the database password file ${path}: ${(error as Error).message}`);
  }
  if (bytes.length > MAX_PASSWORD_FILE_BYTES) {
    throw new Error(`the database password file ${path} is over ${MAX_PASSWORD_FILE_BYTES} bytes`);
  }
  const password = new TextDecoder().decode(bytes).split(/\r?\n/)[0];
  if (password === "") {
    throw new Error(`the database password file ${path} starts with an empty line`);
  }
  return password;
}

/** `url` with `password` as its password (a URL that does not parse is left for Database.open to refuse). */
function withPassword(url: string, password: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = encodeURIComponent(password);
    return parsed.href;
  } catch {
    return url;
  }
}
