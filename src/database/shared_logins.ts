/**
 * What a node of a site keeps in the shared database for logins (issue 13
 * §3): the users, the leases behind the per-user session limit, and the
 * failed-login counters and lockouts, each over the one pool of `--database`.
 *
 * @module
 */

import type { LoginGuardOptions } from "../server/login_guard.ts";
import type { Database } from "./database.ts";
import { SharedLoginGuard } from "./login_failures.ts";
import { SessionLeases, type SessionLeasesOptions } from "./session_leases.ts";
import { UserRecords } from "./user_records.ts";

/** The login state a node shares with the others. */
export interface SharedLogins {
  users: UserRecords;
  sessions: SessionLeases;
  guard: SharedLoginGuard;
}

/** Options of {@link sharedLogins}. */
export interface SharedLoginsOptions {
  /** The failure limits, as for one server (`--lockout-*` and the rest). Default: their defaults. */
  loginGuard?: Partial<LoginGuardOptions>;
  /** The leases' timing and what to do when a renewal fails. Default: their defaults. */
  leases?: SessionLeasesOptions;
}

/** The login state of this node in `database`; `sessions.close()` stops its renewals. */
export function sharedLogins(database: Database, options: SharedLoginsOptions = {}): SharedLogins {
  return {
    users: new UserRecords(database),
    sessions: new SessionLeases(database, options.leases),
    guard: new SharedLoginGuard(database, options.loginGuard),
  };
}
