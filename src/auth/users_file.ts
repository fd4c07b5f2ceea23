/**
 * Reads the users file (`id_passwd.txt`): one `username:password` per line,
 * `#` comments and blank lines allowed. A malformed line is reported with its
 * line number and skipped; it never stops the server.
 *
 * @module
 */

/** One user from the file. */
export interface UserRecord {
  name: string;
  /** The stored secret as written after the first colon. */
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

/** Parses the text of a users file. */
export function parseUsersFile(text: string): UsersFile {
  const users = new Map<string, UserRecord>();
  const problems: UsersFileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const colon = trimmed.indexOf(":");
    if (colon < 0) return problems.push({ line, reason: "expected username:password" });
    const name = trimmed.slice(0, colon);
    const secret = trimmed.slice(colon + 1);
    if (!USER_NAME_PATTERN.test(name)) {
      return problems.push({ line, reason: `invalid user name ${JSON.stringify(name)}` });
    }
    if (secret === "") return problems.push({ line, reason: `empty password for ${name}` });
    if (users.has(name)) return problems.push({ line, reason: `duplicate user ${name}` });
    users.set(name, { name, secret, line });
  });
  return { users, problems };
}
