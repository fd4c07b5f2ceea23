/**
 * `dfos server status` and `dfos server stop` for end-to-end tests: run
 * the real CLI against a test server's folders and read what it says.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dfosCommand, type TestServer, waitFor } from "./processes.ts";
import type { ServerStatus, TransferStatus } from "../../src/control/status_report.ts";

/** `dfos ARGS` run to its end. */
export async function dfos(args: string[]) {
  const { code, stdout, stderr } = await dfosCommand(args).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** `dfos server SUBCOMMAND` for `server`'s storage, plus `args`. */
export function control(server: { storageDir: string }, subcommand: string, ...args: string[]) {
  return dfos(["server", subcommand, `--storage=${server.storageDir}`, ...args]);
}

/** `status --json` of `server`, which must succeed. */
export async function statusOf(server: TestServer): Promise<ServerStatus> {
  const result = await control(server, "status", "--json");
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** The running transfer of `user` once it has moved more than `after` bytes. */
export function transferOf(server: TestServer, user: string, after = 0): Promise<TransferStatus> {
  return waitFor(
    async () => {
      const session = (await statusOf(server)).sessions.find((each) => each.user === user);
      const transfer = session?.transfers[0];
      return transfer && transfer.done > after ? transfer : undefined;
    },
    30_000,
    `a transfer of ${user} past ${after} bytes`,
  );
}

/**
 * Whether process `pid` has exited: gone, or a zombie its parent has not
 * reaped yet (read by `cat`: the runtime refuses paths under /proc to tests).
 */
export async function hasExited(pid: number): Promise<boolean> {
  const { code, stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stderr: "null",
  }).output();
  if (code !== 0) return true;
  const stat = new TextDecoder().decode(stdout);
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}
