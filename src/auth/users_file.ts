/**
 * The users file (`id_passwd.txt`): one `username:secret` per line, `#`
 * comments and blank lines allowed. The secret is a scrypt hash
 * (`scrypt$…`, see password_hash.ts) or, in the legacy format, a plaintext
 * password. A malformed line is reported with its line number and skipped; it
 * never stops the server.
 *
 * Edits keep comments, blank lines and order, and are written atomically
 * (temp file, fsync, rename) with mode 0600, one at a time per file.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { HashFormatError, isHashed, parsePasswordHash } from "./password_hash.ts";

/** One user from the file. */
export interface UserRecord {
  name: string;
  /** The stored secret as written after the first colon: a hash or legacy plaintext. */
  secret: string;
  /** 1-based line number, for messages. */
  line: number;
}

/** A line that could not be used, and why. */
export interface UsersFileProblem {
  line: number;
  reason: string;
}

/** The parsed file. */
export interface UsersFile {
  users: Map<string, UserRecord>;
  problems: UsersFileProblem[];
}

/** User names double as folder names: letters, digits, `.`, `_`, `-`, not starting with `.`. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}$/;

/** What one line of the file holds; `name` is set whenever the line names a valid user. */
type ParsedLine =
  | { kind: "ignored" }
  | { kind: "user"; name: string; secret: string }
  | { kind: "problem"; reason: string; name?: string };

function parseLine(raw: string): ParsedLine {
  const trimmed = raw.trim();
  if (trimmed === "" || trimmed.startsWith("#")) return { kind: "ignored" };
  const colon = trimmed.indexOf(":");
  if (colon < 0) return { kind: "problem", reason: "expected username:password" };
  const name = trimmed.slice(0, colon);
  const secret = trimmed.slice(colon + 1);
  if (!USER_NAME_PATTERN.test(name)) {
    return { kind: "problem", reason: `invalid user name ${JSON.stringify(name)}` };
  }
  if (secret === "") return { kind: "problem", name, reason: `empty password for ${name}` };
  const hashProblem = describeHashProblem(secret);
  if (hashProblem) {
    return { kind: "problem", name, reason: `malformed password hash for ${name}: ${hashProblem}` };
  }
  return { kind: "user", name, secret };
}

function describeHashProblem(secret: string): string | undefined {
  if (!isHashed(secret)) return undefined;
  try {
    parsePasswordHash(secret);
    return undefined;
  } catch (error) {
    if (error instanceof HashFormatError) return error.reason;
    throw error;
  }
}

/** Parses the text of a users file. The first definition of a user wins. */
export function parseUsersFile(text: string): UsersFile {
  const users = new Map<string, UserRecord>();
  const problems: UsersFileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const parsed = parseLine(raw);
    if (parsed.kind === "problem") problems.push({ line, reason: parsed.reason });
    if (parsed.kind !== "user") return;
    if (users.has(parsed.name)) {
      return problems.push({ line, reason: `duplicate user ${parsed.name}` });
    }
    users.set(parsed.name, { name: parsed.name, secret: parsed.secret, line });
  });
  return { users, problems };
}

/**
 * Returns `text` with `name`'s secret set to `secret`: the user's first line
 * is rewritten in place, later lines for the same name (ignored duplicates)
 * are dropped, and a new user is appended at the end. Comments, blank lines,
 * line endings and the order of the other lines are kept.
 */
export function setUser(text: string, name: string, secret: string): string {
  checkName(name);
  if (secret === "" || secret !== secret.trim() || /[\r\n]/.test(secret)) {
    throw new RangeError("a secret must be non-empty, on one line, without surrounding spaces");
  }
  const entry = `${name}:${secret}`;
  const lines = text.split("\n");
  const indexes = lineIndexesOf(lines, name);
  if (indexes.length === 0) return appendLine(text, entry);
  const [first, ...duplicates] = indexes;
  lines[first] = lines[first].endsWith("\r") ? `${entry}\r` : entry;
  return lines.filter((_, index) => !duplicates.includes(index)).join("\n");
}

/** Returns `text` without any line for `name`; everything else is kept as it was. */
export function removeUser(text: string, name: string): string {
  checkName(name);
  const lines = text.split("\n");
  const indexes = lineIndexesOf(lines, name);
  return lines.filter((_, index) => !indexes.includes(index)).join("\n");
}

function checkName(name: string): void {
  if (!USER_NAME_PATTERN.test(name)) {
    throw new RangeError(`invalid user name ${JSON.stringify(name)}`);
  }
}

function lineIndexesOf(lines: string[], name: string): number[] {
  return lines.flatMap((raw, index) => {
    const parsed = parseLine(raw);
    return parsed.kind !== "ignored" && parsed.name === name ? [index] : [];
  });
}

function appendLine(text: string, line: string): string {
  const newline = text.includes("\r\n") ? "\r\n" : "\n";
  const separator = text === "" || text.endsWith("\n") ? "" : newline;
  return `${text}${separator}${line}${newline}`;
}

/** Options of {@link updateUsersFile}. */
export interface UpdateUsersFileOptions {
  /** Treat a missing file as empty and create it (mode 0600). Default: false, it rejects. */
  createIfMissing?: boolean;
}

/**
 * Reads the file, applies `edit` and writes the result atomically unless
 * `edit` returns undefined (no change). Updates of the same file in this
 * process run one after another, so concurrent edits are never lost.
 * Resolves to whether the file was written.
 */
export function updateUsersFile(
  path: string,
  edit: (text: string) => string | undefined | Promise<string | undefined>,
  options: UpdateUsersFileOptions = {},
): Promise<boolean> {
  return oneAtATime(path, async () => {
    const text = await readText(path, options.createIfMissing ?? false);
    const edited = await edit(text);
    if (edited === undefined) return false;
    await replaceFile(path, edited);
    return true;
  });
}

/**
 * Replaces the file's contents atomically: a temp file in the same folder is
 * written with mode 0600, synced and renamed over `path`, so readers see the
 * old or the new file, never a mix. Serialized with {@link updateUsersFile}.
 */
export function writeUsersFileAtomically(path: string, text: string): Promise<void> {
  return oneAtATime(path, () => replaceFile(path, text));
}

const pendingWrites = new Map<string, Promise<unknown>>();

function oneAtATime<T>(path: string, task: () => Promise<T>): Promise<T> {
  const key = resolve(path);
  const result = (pendingWrites.get(key) ?? Promise.resolve()).then(task);
  const settled = result.then(() => {}, () => {});
  pendingWrites.set(key, settled);
  settled.then(() => {
    if (pendingWrites.get(key) === settled) pendingWrites.delete(key);
  });
  return result;
}

async function readText(path: string, missingIsEmpty: boolean): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (missingIsEmpty && error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

async function replaceFile(path: string, text: string): Promise<void> {
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    using file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    await writeAll(file, new TextEncoder().encode(text));
    await file.sync();
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await Deno.rename(temp, path).catch(async (error) => {
    await Deno.remove(temp).catch(() => {});
    throw error;
  });
  await syncDirectory(directory);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await file.write(bytes.subarray(offset));
  }
}

/** Makes the rename durable where the platform allows syncing a directory. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    using handle = await Deno.open(directory, { read: true });
    await handle.sync();
  } catch {
    // Not supported everywhere (e.g. Windows); the rename itself is still atomic.
  }
}
