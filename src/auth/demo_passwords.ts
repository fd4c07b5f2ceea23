/**
 * The demo users' passwords. `id_passwd.txt` ships with two users whose
 * passwords README.md prints, so that the quick start is one command; anyone
 * who has read the README knows them. A login with one of those passwords is
 * therefore let in only from the server's own machine (loopback), whatever
 * the user: changing the password (`dfos user passwd`) lifts the rule, and
 * giving any user a documented password brings it back. The rule looks at
 * the password the client sent, so it holds whether the stored secret is a
 * hash or plaintext, and needs no mark in the users file that could go stale.
 *
 * @module
 */

import { isHashed, verifyPassword } from "./password_hash.ts";

/** The demo users and the passwords README.md gives them. */
export const DEMO_PASSWORDS: ReadonlyMap<string, string> = new Map([
  ["alice", "alice-demo-password"],
  ["bob", "bob-demo-password"],
]);

/** What a client hears when a demo password is used from another machine. */
export const DEMO_PASSWORD_REFUSAL =
  "demo password: log in from this machine only, or change it with dfos user passwd";

const DEMO_PASSWORD_SET = new Set(DEMO_PASSWORDS.values());

/**
 * Whether `password` is one of the documented demo passwords. (A plain
 * comparison: they are public, and it runs only once a password has passed.)
 */
export function isDemoPassword(password: string): boolean {
  return DEMO_PASSWORD_SET.has(password);
}

/**
 * Whether `address` (a peer's address as the runtime reports it, without
 * port) is this machine: 127.0.0.0/8, `::1`, or an IPv4 loopback address
 * mapped into IPv6 (`::ffff:127.0.0.1`).
 *
 * @example
 * ```ts
 * isLoopbackAddress("127.0.0.1"); // true
 * isLoopbackAddress("::ffff:127.0.0.5"); // true
 * isLoopbackAddress("10.0.0.5"); // false
 * ```
 */
export function isLoopbackAddress(address: string): boolean {
  const host = address.toLowerCase();
  if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const ipv4 = host.startsWith("::ffff:") ? host.slice("::ffff:".length) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ipv4);
}

/**
 * Whether the stored `secret` of `user` is a documented demo password. A
 * plaintext secret is compared with every demo password; a hash costs an
 * scrypt check, so only a demo user's own hash is checked (against that
 * user's demo password): enough for the startup warning, while the login
 * rule ({@link isDemoPassword}) covers every user.
 */
export async function storesDemoPassword(user: string, secret: string): Promise<boolean> {
  if (!isHashed(secret)) return isDemoPassword(secret);
  const demo = DEMO_PASSWORDS.get(user);
  return demo !== undefined && await verifyPassword(secret, demo);
}
