/**
 * A command context around a real connection, for tests that run sync
 * in-process against a real server: quiet, and printing nothing.
 *
 * @module
 */

import type { CommandContext } from "../../src/client/command.ts";
import type { ClientConnection } from "../../src/client/connection.ts";

/** What a command run by a test sees: alice's connection, the remote root as cwd. */
export function testContext(connection: ClientConnection): CommandContext {
  return {
    connection,
    user: "alice",
    host: "127.0.0.1",
    cwd: "/",
    quiet: true,
    print: () => Promise.resolve(),
    write: () => Promise.resolve(),
    warn: () => {},
  };
}

/** Counts the requests `connection` makes with `call` from now on, by name. */
export function countCalls(connection: ClientConnection): Map<string, number> {
  const sent = new Map<string, number>();
  const call = connection.call.bind(connection);
  connection.call = (spec, value) => {
    sent.set(spec.name, (sent.get(spec.name) ?? 0) + 1);
    return call(spec, value);
  };
  return sent;
}
