/**
 * No unauthenticated way to take the server down: connections that never
 * log in are closed at --login-timeout whatever state their TLS handshake is
 * in (their descriptors come back), and a flood of idle connections larger
 * than the server's open-file limit neither stops it accepting nor stops it
 * shutting down, nor writes the log a line per connection.
 */

import assert from "node:assert/strict";
import { connectRaw, runClient, startServer, waitFor, within } from "../helpers/processes.ts";
import { drainUntilClosed, PARTIAL_CLIENT_HELLO } from "../helpers/hostile.ts";

/** How many descriptors process `pid` has open (read with `ls`: the runtime keeps /proc from tests). */
async function openDescriptors(pid: number): Promise<number> {
  const { stdout, success } = await new Deno.Command("ls", { args: [`/proc/${pid}/fd`] }).output();
  assert.ok(success, `cannot list the descriptors of ${pid}`);
  return new TextDecoder().decode(stdout).split("\n").filter(Boolean).length;
}

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Sends `bytes` one at a time, `everyMs` apart, until they are all sent or the peer is gone. */
async function trickle(conn: Deno.Conn, bytes: Uint8Array, everyMs: number): Promise<void> {
  for (const byte of bytes) {
    if (!(await conn.write(Uint8Array.of(byte)).then(() => true, () => false))) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

Deno.test("connections that never log in are closed at --login-timeout in every state, and the server's descriptors return to their baseline", async () => {
  await using server = await startServer(["--login-timeout=1"]);
  // One full login first, so whatever the runtime opens once for TLS is in the baseline.
  assert.equal((await runClient(server, ["pwd"])).code, 0);
  const baseline = await openDescriptors(server.pid);
  const silent = await Promise.all([0, 1, 2].map(() => connect(server.port)));
  const recordHeaderOnly = await Promise.all([0, 1, 2].map(() => connect(server.port)));
  for (const conn of recordHeaderOnly) await conn.write(PARTIAL_CLIENT_HELLO.subarray(0, 3));
  const slow = await Promise.all([0, 1].map(() => connect(server.port)));
  const trickling = slow.map((conn) => trickle(conn, PARTIAL_CLIENT_HELLO, 300));
  const tlsWithoutHello = await Promise.all([0, 1, 2].map(() => connectRaw(server)));
  for (const conn of tlsWithoutHello) await (conn as Deno.TlsConn).handshake();
  const states: [string, Deno.Conn[]][] = [
    ["silent TCP", silent],
    ["a TLS record header only (16 03 01)", recordHeaderOnly],
    ["a ClientHello sent a byte at a time", slow],
    ["TLS done, no Hello", tlsWithoutHello],
  ];
  try {
    for (const [state, conns] of states) {
      for (const conn of conns) await within(drainUntilClosed(conn), 10_000, `${state}: closed`);
    }
    await Promise.all(trickling);
    await waitFor(
      async () => (await openDescriptors(server.pid)) <= baseline,
      5_000,
      `the server's descriptors back to ${baseline}`,
    );
  } finally {
    for (const [, conns] of states) {
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    }
  }
  const after = await runClient(server, ["pwd"]);
  assert.equal(after.code, 0, after.stderr);
});

Deno.test("under a 256-descriptor limit, 400 idle connections are bounded: the surplus is closed at once, a login then gets in at once, and SIGTERM exits 0", async () => {
  // --max-unauthenticated above the descriptor limit: only the descriptor bound can hold.
  const args = ["--login-timeout=60", "--shutdown-grace=1", "--max-unauthenticated=1000"];
  await using server = await startServer(args, undefined, { openFileLimit: 256 });
  const attackers: Deno.Conn[] = [];
  try {
    for (let index = 0; index < 400; index++) attackers.push(await connect(server.port));
    // Not at a timeout (60 s): the newest, beyond the bound, is closed as soon as it is accepted.
    await within(drainUntilClosed(attackers[399]), 10_000, "the newest connection: closed at once");
    for (const conn of attackers.splice(20)) conn.close();
    const login = await runClient(server, ["pwd"], { timeoutMs: 15_000 });
    assert.equal(login.code, 0, `a login while 20 idle connections stay: ${login.stderr}`);
    const output = server.output();
    assert.doesNotMatch(output, /unhandled rejection|cannot accept/);
    const bound = Number(output.match(/at most (\d+) connections at once/)?.[1]);
    assert.ok(bound > 20 && bound < 256, `bounded below the descriptor limit: ${bound}`);
    assert.match(output, /closed \d+ new connections? at once: \d+ are open, the most allowed/);
    assert.equal(await server.stop("SIGTERM", 15_000), 0, server.output());
  } finally {
    for (const conn of attackers) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
});

Deno.test("connections refused beyond --max-unauthenticated are logged once per burst, not once each", async () => {
  const args = ["--max-unauthenticated=2", "--login-timeout=60", "--shutdown-grace=1"];
  await using server = await startServer(args);
  const conns = [await connect(server.port), await connect(server.port)];
  try {
    for (let index = 0; index < 40; index++) {
      const conn = await connect(server.port);
      conns.push(conn);
      await within(drainUntilClosed(conn), 10_000, "a connection beyond the bound: closed at once");
    }
    const firsts = server.output().match(/refusing 127\.0\.0\.1:\d+: 2 connections are already/g);
    assert.equal(firsts?.length, 1, `the first refusal alone, at once: ${server.output()}`);
    assert.equal(await server.stop("SIGTERM", 15_000), 0, server.output());
    const summed = [
      ...server.output().matchAll(/refused another (\d+) connections?: 2 were already/g),
    ]
      .reduce((sum, match) => sum + Number(match[1]), 0);
    assert.equal(
      summed,
      39,
      `the other refusals summed, by shutdown at the latest: ${server.output()}`,
    );
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
});
