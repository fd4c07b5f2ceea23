/**
 * Where the {@link Authenticator} finds users: the users file of a server on
 * its own (users_file_store.ts), or the `users` table that every node of a
 * site shares (database/user_records.ts). The authenticator asks for a
 * user's stored secret at every login, so a store decides how fresh that is.
 *
 * @module
 */

/** A place that keeps users and the secrets of their passwords. */
export interface UserStore {
  /** Where the users are, for messages: "the users file PATH", "the database at HOST:PORT". */
  readonly location: string;
  /** Reads the users now (or checks the store answers); resolves to their number; fails if it cannot. */
  load(): Promise<number>;
  /** The stored secret (a scrypt hash, or a legacy plaintext password) of `user` now, or undefined. */
  secretOf(user: string): Promise<string | undefined>;
  /** Replaces `user`'s secret by `fresh` only if it is still `expected`; resolves to whether it did. */
  replaceSecret(user: string, expected: string, fresh: string): Promise<boolean>;
  /** Every user and their secret as loaded, for the startup reviews; a shared store lists none. */
  loaded(): [name: string, secret: string][];
}
