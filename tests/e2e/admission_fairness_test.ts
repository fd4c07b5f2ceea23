/**
 * One source address that keeps every place for connections logging in
 * (`--max-unauthenticated`) with silent connections does not keep others
 * out: a peer from another address takes the place of the crowd's oldest
 * connection and logs in. The crowd's own newcomers are still refused. The
 * flood comes from 127.0.0.2 (a socket bound to it), the real client from
 * 127.0.0.1, both on loopback.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { runClient, startServer, waitFor, within } from "../helpers/processes.ts";

/** A silent connection from `localAddress`, with a promise that settles when the server ends it. */
async function silentFrom(localAddress: string, port: number) {
  const socket = net.createConnection({ host: "127.0.0.1", port, localAddress });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {}); // A reset is an end like any other here.
  socket.on("data", () => {}); // Whatever the server says before closing is not the point.
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let closed = false;
  ended.then(() => closed = true);
  return { socket, ended, closed: () => closed, localPort: socket.localPort! };
}

Deno.test("a flood of silent connections from one address keeps out only itself: a client from another address gets in, taking the place of the flood's oldest", async () => {
  const args = ["--max-unauthenticated=8", "--login-timeout=60", "--shutdown-grace=1"];
  await using server = await startServer(args);
  const flood = [];
  try {
    for (let index = 0; index < 8; index++) flood.push(await silentFrom("127.0.0.2", server.port));
    // The accept loop takes connections in order: one more from the flood, refused at once,
    // says the eight before it hold every place.
    const extra = await silentFrom("127.0.0.2", server.port);
    flood.push(extra);
    await within(extra.ended, 10_000, "a ninth connection from 127.0.0.2: refused at once");
    await waitFor(
      () => /refusing 127\.0\.0\.2:\d+: 8 connections are already logging in/.test(server.output()),
      5_000,
      "the refusal logged",
    );
    assert.ok(flood.slice(0, 8).every((member) => !member.closed()), "the eight stay");

    const login = await runClient(server, ["pwd"]);
    assert.equal(login.code, 0, `the client from 127.0.0.1 logged in: ${login.stderr}`);
    await within(flood[0].ended, 10_000, "the flood's oldest connection: closed to make room");
    assert.ok(flood.slice(1, 8).every((member) => !member.closed()), "the other seven stay");
    const closing = new RegExp(
      `closing 127\\.0\\.0\\.2:${
        flood[0].localPort
      }, not logged in yet, to let 127\\.0\\.0\\.1:\\d+ in: ` +
        "its address held 8 of the 8 places",
    );
    assert.match(server.output(), closing);

    // The client has logged out: the flood may fill the freed place again, and then its
    // newcomers find no room, as 127.0.0.2 holds the most.
    const refill = await silentFrom("127.0.0.2", server.port);
    const another = await silentFrom("127.0.0.2", server.port);
    flood.push(refill, another);
    await within(another.ended, 10_000, "another from 127.0.0.2: refused at once");
    assert.ok(!refill.closed(), "the freed place was taken by the first");
    assert.ok(flood.slice(1, 8).every((member) => !member.closed()), "still the same seven");
  } finally {
    for (const member of flood) member.socket.destroy();
  }
  assert.equal(await server.stop("SIGTERM", 15_000), 0, server.output());
});
