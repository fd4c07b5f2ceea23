/**
 * The `users` table: who may log in on every node, with the scrypt hash of
 * their password as the users file stores it (plaintext is never kept: an
 * import hashes it first). Each method is one statement or one transaction,
 * so an edit is whole or absent; a login reads the user's row every time, so
 * a change made through any node holds on every node at once.
 *
 * @module
 */

import { isHashed } from "../auth/password_hash.ts";
import { USER_NAME_PATTERN } from "../auth/users_file.ts";
import type { UserStore } from "../auth/user_store.ts";
import type { Database } from "./database.ts";

/** One user to import: a name and its scrypt hash. */
export interface ImportedUser {
  name: string;
  secret: string;
}

/** What an import did. */
export interface ImportOutcome {
  /** Users that were not in the table before. */
  added: number;
  /** Users already there whose hash was replaced (with `replace`). */
  replaced: number;
  /** Users already there and left as they were (without `replace`). */
  kept: number;
}

/** The users of the shared database. */
export class UserRecords implements UserStore {
  readonly #database: Database;

  constructor(database: Database) {
    this.#database = database;
  }

  /** Where the table is, for messages: "the database at HOST:PORT". */
  get location(): string {
    return `the database at ${this.#database.address}`;
  }

  /** The stored hash of `name`, or undefined when there is no such user (or the name cannot be one). */
  async secretOf(name: string): Promise<string | undefined> {
    if (!USER_NAME_PATTERN.test(name)) return undefined;
    const [row] = await this.#database.run((sql) =>
      sql<{ secret: string }[]>`SELECT secret FROM users WHERE name = ${name}`
    );
    return row?.secret;
  }

  /** Adds `name`; resolves to false (and changes nothing) when the user exists. */
  async add(name: string, secret: string): Promise<boolean> {
    checkUser(name, secret);
    const rows = await this.#database.run((sql) =>
      sql`INSERT INTO users (name, secret) VALUES (${name}, ${secret})
          ON CONFLICT (name) DO NOTHING RETURNING name`
    );
    return rows.length === 1;
  }

  /** Sets `name`'s hash; resolves to false when there is no such user. */
  async setSecret(name: string, secret: string): Promise<boolean> {
    checkUser(name, secret);
    const rows = await this.#database.run((sql) =>
      sql`UPDATE users SET secret = ${secret}, updated_at = now()
          WHERE name = ${name} RETURNING name`
    );
    return rows.length === 1;
  }

  /** Replaces `name`'s hash by `fresh` only if it is still `expected`; resolves to whether it did. */
  async replaceSecret(name: string, expected: string, fresh: string): Promise<boolean> {
    checkUser(name, fresh);
    const rows = await this.#database.run((sql) =>
      sql`UPDATE users SET secret = ${fresh}, updated_at = now()
          WHERE name = ${name} AND secret = ${expected} RETURNING name`
    );
    return rows.length === 1;
  }

  /** Removes `name`; resolves to false when there was no such user. */
  async remove(name: string): Promise<boolean> {
    if (!USER_NAME_PATTERN.test(name)) return false;
    const rows = await this.#database.run((sql) =>
      sql`DELETE FROM users WHERE name = ${name} RETURNING name`
    );
    return rows.length === 1;
  }

  /** Every user's name, sorted. */
  async names(): Promise<string[]> {
    const rows = await this.#database.run((sql) =>
      sql<{ name: string }[]>`SELECT name FROM users ORDER BY name COLLATE "C"`
    );
    return rows.map((row) => row.name);
  }

  /** How many users there are (a query: nothing is kept). */
  async load(): Promise<number> {
    const [{ count }] = await this.#database.run((sql) =>
      sql<{ count: number }[]>`SELECT count(*)::int AS count FROM users`
    );
    return count;
  }

  /** None: the table is read user by user, at each login. */
  loaded(): [string, string][] {
    return [];
  }

  /**
   * Adds `users` in one transaction: all or none. A user already in the table
   * keeps their hash unless `replace` is set.
   */
  async importUsers(users: readonly ImportedUser[], replace: boolean): Promise<ImportOutcome> {
    for (const user of users) checkUser(user.name, user.secret);
    return await this.#database.transaction(async (sql) => {
      const outcome: ImportOutcome = { added: 0, replaced: 0, kept: 0 };
      for (const { name, secret } of users) {
        const [row] = await sql<{ added: boolean }[]>`
          INSERT INTO users (name, secret) VALUES (${name}, ${secret})
          ON CONFLICT (name) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()
            WHERE ${replace}
          RETURNING (xmax = 0) AS added`;
        if (row === undefined) outcome.kept++;
        else if (row.added) outcome.added++;
        else outcome.replaced++;
      }
      return outcome;
    });
  }
}

/** A name that can be a user and a secret that is a hash, or a RangeError. */
function checkUser(name: string, secret: string): void {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new RangeError(`invalid user name ${JSON.stringify(name)}`);
  }
  if (!isHashed(secret)) throw new RangeError(`the password of ${name} is not a scrypt hash`);
}
