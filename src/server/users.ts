/**
 * The server's users: the {@link Authenticator} over the users file (or,
 * with `--database`, over the users table every node shares), and what the
 * server log says about them (skipped lines, plaintext passwords,
 * passwords replaced by fresh hashes, users who still have a demo password).
 *
 * @module
 */

import { Authenticator, type RehashOutcome } from "../auth/authenticator.ts";
import type { UserStore } from "../auth/user_store.ts";
import { serverLog } from "../log/logging.ts";
import { plural } from "../shared/plural.ts";
import type { ServerConfig } from "./server_config.ts";

/** Options of {@link openUsers}. */
export interface OpenUsersOptions {
  /** Told how long each password check waited for its turn, ms. Default: nothing. */
  onCheckWait?: (waitedMs: number) => void;
  /** Where the users are. Default: the users file of `config`. */
  store?: UserStore;
}

/**
 * Loads the users; resolves to their authenticator and the number of users.
 */
export async function openUsers(
  config: ServerConfig,
  { onCheckWait, store }: OpenUsersOptions = {},
): Promise<{ authenticator: Authenticator; userCount: number }> {
  const authenticator = new Authenticator(store ?? config.usersFile, (path, problems) => {
    for (const { line, reason } of problems) {
      serverLog.warn("the users file {path} has a problem on line {line}: {reason}; line skipped", {
        path,
        line,
        reason,
      });
    }
  }, {
    maxCheckWaitMs: config.maxCheckWaitMs,
    loginCacheMs: config.loginCacheMs,
    onRehash: (outcome) => logRehash(outcome, authenticator.location),
    onUsersChanged: () => demo.review(authenticator),
    onCheckWait,
  });
  const demo = new DemoUsers();
  const userCount = await authenticator.load();
  if (store) {
    serverLog.info("users from {location} (the users file is not read)", {
      location: authenticator.location,
    });
  }
  await demo.review(authenticator);
  const legacy = authenticator.legacyUsers();
  if (legacy.length > 0) {
    serverLog.warn(
      "{legacy} in the users file still {have} a plaintext password ({users}): each is replaced by a hash at that user's next login, or run `dfos user migrate`",
      {
        count: legacy.length,
        legacy: plural(legacy.length, "user"),
        have: legacy.length === 1 ? "has" : "have",
        users: legacy.join(", "),
      },
    );
  }
  return { authenticator, userCount };
}

function logRehash(outcome: RehashOutcome, location: string): void {
  const { user } = outcome;
  if (outcome.result === "failed") {
    serverLog.warn("could not store a fresh hash of {user}'s password: {reason}", {
      user,
      reason: outcome.reason,
    });
  } else if (outcome.result === "changed") {
    serverLog.info(
      "{user}'s password in {location} changed during the login; it is left as it is",
      { user, location },
    );
  } else {
    serverLog.info("replaced {user}'s password in {location} by a fresh hash", { user, location });
  }
}

/**
 * Says loudly which users still have a documented demo password (they may
 * log in only from this machine), at startup and whenever that changes.
 */
class DemoUsers {
  #reported: string[] = [];
  #review: Promise<void> = Promise.resolve();

  /** Checks the users as loaded now; resolves once it has said what changed. */
  review(authenticator: Authenticator): Promise<void> {
    this.#review = this.#review.then(async () => {
      const users = await authenticator.demoPasswordUsers();
      this.#report(users);
    }).catch((error) => {
      serverLog.warn("could not check the users for demo passwords: {error}", {
        error: String(error),
      });
    });
    return this.#review;
  }

  #report(users: string[]): void {
    const freed = this.#reported.filter((user) => !users.includes(user));
    const added = users.filter((user) => !this.#reported.includes(user));
    this.#reported = users;
    for (const user of freed) {
      serverLog.info(
        "{user} no longer has a demo password: logins from other machines are allowed",
        {
          user,
        },
      );
    }
    if (added.length === 0) return;
    const one = added.length === 1;
    serverLog.warn(
      "DEMO {passwords}: {users} still {have} the {passwords} printed in README.md, so {they} may log in from this machine only (loopback) until {it} is changed with `dfos user passwd {name}`",
      {
        users: added.join(", "),
        count: added.length,
        passwords: one ? "password" : "passwords",
        have: one ? "has" : "have",
        they: one ? added[0] : "they",
        it: one ? "it" : "each",
        name: one ? added[0] : "NAME",
      },
    );
  }
}
