/**
 * `dfos user`: edits the users file the server reads — `add`, `passwd`,
 * `del`, `list`, `migrate` — storing passwords as scrypt hashes. Every edit
 * is an atomic rewrite that keeps comments and order. With `--database`,
 * `add`, `passwd`, `del` and `list` work on the users table that the nodes
 * of a site share instead (each edit one statement), and `import` copies a
 * users file into it (plaintext passwords hashed on the way, all users in
 * one transaction). Exit codes: 0 done, 1 the operation failed (user exists,
 * unknown user, file unreadable, database unreachable), 2 usage (bad name,
 * empty or mismatched password). Errors are one line, `dfos: user: <why>`.
 *
 * @module
 */

import { Command } from "commander";
import { hashPassword, isHashed } from "../auth/password_hash.ts";
import {
  parseUsersFile,
  removeUser,
  setUser,
  updateUsersFile,
  USER_NAME_PATTERN,
  type UsersFile,
} from "../auth/users_file.ts";
import { UsageError } from "../client/errors.ts";
import { DEFAULT_SERVER_CONFIG } from "../server/server_config.ts";
import type { UserRecords } from "../database/user_records.ts";
import { readNewPassword } from "./password.ts";

/** Shown after a user whose password is still stored in plaintext. */
export const LEGACY_MARK = "(plaintext, will be rehashed at next login)";

/** An operation that could not be done (exit 1). */
class UserCommandFailure extends Error {}

interface UsersOption {
  users: string;
  /** The shared database to work on instead of the users file. */
  database?: string;
  databasePasswordFile?: string;
  /** `import`: replace the hash of users already in the database. */
  replace?: boolean;
}

/** Builds the `user` subcommand and its subcommands; `onExit` receives the exit code. */
export function userCommand(onExit: (code: number) => void): Command {
  const run = async (task: () => Promise<void>) => onExit(await exitCodeOf(task));
  return new Command("user")
    .description(
      "manage the users file, or with --database the users several nodes share (passwords are stored as scrypt hashes)",
    )
    .addCommand(
      named("add", "add a user; the password is read twice on a terminal, else from stdin")
        .action((name: string, options: UsersOption) =>
          run(() =>
            options.database
              ? onDatabase(options, (users) => addDatabaseUser(users, name))
              : addUser(options.users, name)
          )
        ),
    )
    .addCommand(
      named("passwd", "set a user's password (read as for add)")
        .action((name: string, options: UsersOption) =>
          run(() =>
            options.database
              ? onDatabase(options, (users) => changeDatabasePassword(users, name))
              : changePassword(options.users, name)
          )
        ),
    )
    .addCommand(
      named("del", "remove a user")
        .action((name: string, options: UsersOption) =>
          run(() =>
            options.database
              ? onDatabase(options, (users) => deleteDatabaseUser(users, name))
              : deleteUser(options.users, name)
          )
        ),
    )
    .addCommand(
      withDatabaseOptions(
        withUsersOption(new Command("list").description("print the user names, one per line")),
      ).action((options: UsersOption) =>
        run(() =>
          options.database ? onDatabase(options, listDatabaseUsers) : listUsers(options.users)
        )
      ),
    )
    .addCommand(
      withDatabaseOptions(
        withUsersOption(
          new Command("import").description(
            "copy the users of a users file into --database (plaintext passwords are hashed)",
          ),
        ),
      ).option("--replace", "replace the password of users already in the database")
        .action((options: UsersOption) =>
          run(() => onDatabase(options, (users) => importUsers(users, options)))
        ),
    )
    .addCommand(
      withUsersOption(new Command("migrate").description("hash every plaintext password now"))
        .action((options: UsersOption) => run(() => migrateUsers(options.users))),
    );
}

function named(name: string, description: string): Command {
  return withDatabaseOptions(withUsersOption(
    new Command(name).description(description).argument("<name>", "user name"),
  ));
}

function withDatabaseOptions(command: Command): Command {
  return command
    .option("--database <url>", "work on the users table of this PostgreSQL database instead")
    .option("--database-password-file <file>", "file whose first line is the database's password");
}

function withUsersOption(command: Command): Command {
  return command.option("--users <file>", "users file", DEFAULT_SERVER_CONFIG.usersFile);
}

/** Runs `task`, printing a failure as one `dfos: user:` line; resolves to the exit code. */
async function exitCodeOf(task: () => Promise<void>): Promise<number> {
  try {
    await task();
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof UserCommandFailure)) throw error;
    console.error(`dfos: user: ${error.message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

async function addUser(path: string, name: string): Promise<void> {
  checkName(name);
  if ((await readUsers(path, { missingIsEmpty: true })).users.has(name)) throw exists(name, path);
  const secret = await hashPassword(await readNewPassword(name));
  await editUsers(path, (text) => {
    if (parseUsersFile(text).users.has(name)) throw exists(name, path);
    return setUser(text, name, secret);
  }, { createIfMissing: true });
  console.log(`added ${name} to ${path}`);
}

async function changePassword(path: string, name: string): Promise<void> {
  checkName(name);
  if (!(await readUsers(path)).users.has(name)) throw unknown(name, path);
  const secret = await hashPassword(await readNewPassword(name));
  await editUsers(path, (text) => {
    if (!parseUsersFile(text).users.has(name)) throw unknown(name, path);
    return setUser(text, name, secret);
  });
  console.log(`changed the password of ${name} in ${path}`);
}

async function deleteUser(path: string, name: string): Promise<void> {
  checkName(name);
  await editUsers(path, (text) => {
    if (!parseUsersFile(text).users.has(name)) throw unknown(name, path);
    return removeUser(text, name);
  });
  console.log(`removed ${name} from ${path}`);
}

async function listUsers(path: string): Promise<void> {
  const { users, problems } = await readUsers(path);
  for (const problem of problems) {
    console.error(`dfos: user: ${path}:${problem.line}: ${problem.reason}; line skipped`);
  }
  for (const { name, secret } of users.values()) {
    console.log(isHashed(secret) ? name : `${name} ${LEGACY_MARK}`);
  }
}

async function migrateUsers(path: string): Promise<void> {
  let rehashed = 0;
  await editUsers(path, async (text) => {
    let edited = text;
    for (const { name, secret } of parseUsersFile(text).users.values()) {
      if (isHashed(secret)) continue;
      edited = setUser(edited, name, await hashPassword(secret));
      rehashed++;
    }
    return rehashed > 0 ? edited : undefined;
  });
  console.log(`rehashed ${rehashed} plaintext password${rehashed === 1 ? "" : "s"} in ${path}`);
}

function checkName(name: string): void {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new UsageError(
      `invalid user name ${JSON.stringify(name)}: use letters, digits, ".", "_", "-" ` +
        `(not starting with "."), at most 32 characters`,
    );
  }
}

async function readUsers(path: string, options = { missingIsEmpty: false }): Promise<UsersFile> {
  try {
    return parseUsersFile(await Deno.readTextFile(path));
  } catch (error) {
    if (options.missingIsEmpty && error instanceof Deno.errors.NotFound) return parseUsersFile("");
    throw describeFileError(error, path);
  }
}

async function editUsers(
  path: string,
  edit: (text: string) => string | undefined | Promise<string | undefined>,
  options = { createIfMissing: false },
): Promise<void> {
  try {
    await updateUsersFile(path, edit, options);
  } catch (error) {
    throw describeFileError(error, path);
  }
}

/** A failed read or write of the users file as a one-line failure (exit 1). */
function describeFileError(error: unknown, path: string): unknown {
  if (error instanceof UserCommandFailure || !(error instanceof Error)) return error;
  if (error instanceof Deno.errors.NotFound) {
    return new UserCommandFailure(`users file ${path} not found`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new UserCommandFailure(`permission denied on users file ${path}`);
  }
  return new UserCommandFailure(`cannot use users file ${path}: ${error.message}`);
}

/** `where`: a users file's path, or "the database at HOST:PORT". */
function exists(name: string, where: string): UserCommandFailure {
  return new UserCommandFailure(`user ${name} already exists in ${where}`);
}

function unknown(name: string, where: string): UserCommandFailure {
  return new UserCommandFailure(`no user ${name} in ${where}`);
}

/**
 * Opens `--database` (migrating its schema if it is new), runs `work` on its
 * users and closes it; a database that cannot be used is a one-line failure.
 */
async function onDatabase(
  options: UsersOption,
  work: (users: UserRecords) => Promise<void>,
): Promise<void> {
  if (options.database === undefined) {
    throw new UsageError("import needs --database URL: the database to copy the users into");
  }
  const { openSharedDatabase } = await import("../server/shared_database.ts");
  const { UserRecords } = await import("../database/user_records.ts");
  const config = { url: options.database, passwordFile: options.databasePasswordFile };
  const database = await openSharedDatabase(config).catch((error) => {
    if (error instanceof TypeError) throw new UsageError(`--database: ${error.message}`);
    throw new UserCommandFailure(`cannot use the database: ${(error as Error).message}`);
  });
  try {
    await work(new UserRecords(database));
  } catch (error) {
    if (error instanceof UserCommandFailure || error instanceof UsageError) throw error;
    throw new UserCommandFailure(`${(error as Error).message}`);
  } finally {
    await database.close();
  }
}

async function addDatabaseUser(users: UserRecords, name: string): Promise<void> {
  checkName(name);
  if (await users.secretOf(name) !== undefined) throw exists(name, users.location);
  const secret = await hashPassword(await readNewPassword(name));
  if (!await users.add(name, secret)) throw exists(name, users.location);
  console.log(`added ${name} to ${users.location}`);
}

async function changeDatabasePassword(users: UserRecords, name: string): Promise<void> {
  checkName(name);
  if (await users.secretOf(name) === undefined) throw unknown(name, users.location);
  const secret = await hashPassword(await readNewPassword(name));
  if (!await users.setSecret(name, secret)) throw unknown(name, users.location);
  console.log(`changed the password of ${name} in ${users.location}`);
}

async function deleteDatabaseUser(users: UserRecords, name: string): Promise<void> {
  checkName(name);
  if (!await users.remove(name)) throw unknown(name, users.location);
  console.log(`removed ${name} from ${users.location}`);
}

async function listDatabaseUsers(users: UserRecords): Promise<void> {
  for (const name of await users.names()) console.log(name);
}

/** Copies the users file into the database: skipped lines said, plaintext hashed, all in one transaction. */
async function importUsers(users: UserRecords, options: UsersOption): Promise<void> {
  const path = options.users;
  const parsed = await readUsers(path);
  for (const problem of parsed.problems) {
    console.error(`dfos: user: ${path}:${problem.line}: ${problem.reason}; line skipped`);
  }
  const records = [];
  for (const { name, secret } of parsed.users.values()) {
    records.push({ name, secret: isHashed(secret) ? secret : await hashPassword(secret) });
  }
  const outcome = await users.importUsers(records, options.replace === true);
  console.log(
    `imported ${path} into ${users.location}: ${outcome.added} added, ` +
      `${outcome.replaced} replaced, ${outcome.kept} already there and kept`,
  );
}
