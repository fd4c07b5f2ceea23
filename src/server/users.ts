/**
 * The server's users: the {@link Authenticator} over the users file, and
 * what the server log says about them (skipped lines, plaintext passwords,
 * passwords replaced by fresh hashes).
 *
 * @module
 */

import { Authenticator, type RehashOutcome } from "../auth/authenticator.ts";
import { serverLog } from "../log/logging.ts";
import { plural } from "../shared/plural.ts";
import type { ServerConfig } from "./server_config.ts";

/** Loads the users file; resolves to its authenticator and the number of users. */
export async function openUsers(
  config: ServerConfig,
): Promise<{ authenticator: Authenticator; userCount: number }> {
  const authenticator = new Authenticator(config.usersFile, (path, problems) => {
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
    onRehash: logRehash,
  });
  const userCount = await authenticator.load();
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

function logRehash(outcome: RehashOutcome): void {
  const { user } = outcome;
  if (outcome.result === "failed") {
    serverLog.warn("could not store a fresh hash of {user}'s password: {reason}", {
      user,
      reason: outcome.reason,
    });
  } else if (outcome.result === "changed") {
    serverLog.info(
      "{user}'s line in the users file changed during the login; it is left as it is",
      { user },
    );
  } else {
    serverLog.info("replaced {user}'s password in the users file by a fresh hash", { user });
  }
}
