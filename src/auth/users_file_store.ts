/**
 * The users file as a {@link UserStore}: re-read whenever it changed (its
 * mtime, inode or size differ), so users can be added without a restart; a
 * file briefly unreadable keeps the users last read. Skipped lines are
 * reported once per different set of them.
 *
 * @module
 */

import { parseUsersFile, setUser, updateUsersFile, type UsersFileProblem } from "./users_file.ts";
import type { UserStore } from "./user_store.ts";

/** Called with the lines that were skipped when a load finds a different set of them. */
export type ProblemReporter = (path: string, problems: UsersFileProblem[]) => void;

/** The users of one users file. */
export class UsersFileStore implements UserStore {
  readonly #path: string;
  readonly #report: ProblemReporter;
  readonly #onChanged: () => void;
  #loadedVersion = "";
  #reportedProblems = "[]";
  #secrets = new Map<string, string>();

  /** `onChanged` is called after a reload found the file changed (not after the first load). */
  constructor(path: string, report: ProblemReporter, onChanged: () => void = () => {}) {
    this.#path = path;
    this.#report = report;
    this.#onChanged = onChanged;
  }

  get location(): string {
    return `the users file ${this.#path}`;
  }

  /** Reads the file now unless it is unchanged; fails if it cannot be read at all. */
  async load(): Promise<number> {
    const info = await Deno.stat(this.#path);
    const version = `${info.mtime?.getTime() ?? 0}:${info.ino ?? 0}:${info.size}`;
    if (version === this.#loadedVersion) return this.#secrets.size;
    const parsed = parseUsersFile(await Deno.readTextFile(this.#path));
    this.#reportProblems(parsed.problems);
    this.#secrets = new Map([...parsed.users].map(([name, user]) => [name, user.secret]));
    const reloaded = this.#loadedVersion !== "";
    this.#loadedVersion = version;
    if (reloaded) this.#onChanged();
    return this.#secrets.size;
  }

  async secretOf(user: string): Promise<string | undefined> {
    try {
      await this.load();
    } catch {
      // Keep serving with the users we had if the file is briefly unreadable.
    }
    return this.#secrets.get(user);
  }

  /** Rewrites `user`'s line unless someone changed it since it was loaded. */
  async replaceSecret(user: string, expected: string, fresh: string): Promise<boolean> {
    const written = await updateUsersFile(this.#path, (text) => {
      const current = parseUsersFile(text).users.get(user);
      return current?.secret === expected ? setUser(text, user, fresh) : undefined;
    });
    if (written) this.#secrets.set(user, fresh);
    return written;
  }

  loaded(): [string, string][] {
    return [...this.#secrets];
  }

  /** Reports skipped lines unless they are the ones already reported (e.g. after a rehash). */
  #reportProblems(problems: UsersFileProblem[]): void {
    const key = JSON.stringify(problems);
    if (key === this.#reportedProblems) return;
    this.#reportedProblems = key;
    if (problems.length > 0) this.#report(this.#path, problems);
  }
}
