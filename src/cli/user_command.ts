/**
 * `dfos user`: edits the users file the server reads — `add`, `passwd`,
 * `del`, `list`, `migrate` — storing passwords as scrypt hashes. Every edit
 * is an atomic rewrite that keeps comments and order. Exit codes: 0 done,
 * 1 the operation failed (user exists, unknown user, file unreadable),
 * 2 usage (bad name, empty or mismatched password). Errors are one line,
 * `dfos: user: <why>`.
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
import { readNewPassword } from "./password.ts";

/** Shown after a user whose password is still stored in plaintext. */
export const LEGACY_MARK = "(plaintext, will be rehashed at next login)";

/** An operation that could not be done (exit 1). */
class UserCommandFailure extends Error {}

interface UsersOption {
  users: string;
}

/** Builds the `user` subcommand and its subcommands; `onExit` receives the exit code. */
export function userCommand(onExit: (code: number) => void): Command {
  const run = async (task: () => Promise<void>) => onExit(await exitCodeOf(task));
  return new Command("user")
    .description("manage the users file (passwords are stored as scrypt hashes)")
    .addCommand(
      named("add", "add a user; the password is read twice on a terminal, else from stdin")
        .action((name: string, options: UsersOption) => run(() => addUser(options.users, name))),
    )
    .addCommand(
      named("passwd", "set a user's password (read as for add)")
        .action((name: string, options: UsersOption) =>
          run(() => changePassword(options.users, name))
        ),
    )
    .addCommand(
      named("del", "remove a user")
        .action((name: string, options: UsersOption) => run(() => deleteUser(options.users, name))),
    )
    .addCommand(
      withUsersOption(new Command("list").description("print the user names, one per line"))
        .action((options: UsersOption) => run(() => listUsers(options.users))),
    )
    .addCommand(
      withUsersOption(new Command("migrate").description("hash every plaintext password now"))
        .action((options: UsersOption) => run(() => migrateUsers(options.users))),
    );
}

function named(name: string, description: string): Command {
  return withUsersOption(
    new Command(name).description(description).argument("<name>", "user name"),
  );
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

function exists(name: string, path: string): UserCommandFailure {
  return new UserCommandFailure(`user ${name} already exists in ${path}`);
}

function unknown(name: string, path: string): UserCommandFailure {
  return new UserCommandFailure(`no user ${name} in ${path}`);
}
