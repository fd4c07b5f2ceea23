/**
 * Checks logins against the users file. The file is re-read when it changes,
 * so users can be added without a restart. Comparisons are constant-time and
 * an unknown user costs the same work as a known one.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { parseUsersFile, type UsersFileProblem } from "./users_file.ts";

/** Called once per load with the lines that were skipped. */
export type ProblemReporter = (path: string, problems: UsersFileProblem[]) => void;

/** Verifies user names and passwords. */
export class Authenticator {
  #path: string;
  #report: ProblemReporter;
  #loadedMtime = -1;
  #secrets = new Map<string, string>();

  constructor(path: string, report: ProblemReporter) {
    this.#path = path;
    this.#report = report;
  }

  /** Reads the file now; fails if it cannot be read at all. */
  async load(): Promise<number> {
    const info = await Deno.stat(this.#path);
    const mtime = info.mtime?.getTime() ?? 0;
    if (mtime === this.#loadedMtime) return this.#secrets.size;
    const parsed = parseUsersFile(await Deno.readTextFile(this.#path));
    if (parsed.problems.length > 0) this.#report(this.#path, parsed.problems);
    this.#secrets = new Map([...parsed.users].map(([name, user]) => [name, user.secret]));
    this.#loadedMtime = mtime;
    return this.#secrets.size;
  }

  /** True when `user` exists and `password` is theirs. */
  async verify(user: string, password: string): Promise<boolean> {
    try {
      await this.load();
    } catch {
      // Keep serving with the users we had if the file is briefly unreadable.
    }
    const secret = this.#secrets.get(user);
    const matches = constantTimeEqual(secret ?? "\u0000unknown-user", password);
    return secret !== undefined && matches;
  }
}

/** Compares two strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}
