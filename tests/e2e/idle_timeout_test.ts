/**
 * `--idle-timeout`: a session is closed that long after its last request,
 * with a TIMEOUT error that says so, and never while requests keep coming.
 */

import assert from "node:assert/strict";
import { openClient, serverLogLines, startServer, within } from "../helpers/processes.ts";

const IDLE_S = 0.6;

Deno.test("a session is closed --idle-timeout after its last request, never while requests keep coming", async () => {
  await using server = await startServer([`--idle-timeout=${IDLE_S}`]);
  const connection = await openClient(server);
  try {
    // Requests a third of the timeout apart, for three times the timeout: each starts the wait again.
    const started = performance.now();
    let lastAnswered = started;
    while (performance.now() - started < 3 * IDLE_S * 1000) {
      await new Promise((resolve) => setTimeout(resolve, (IDLE_S * 1000) / 3));
      await connection.stat("/");
      lastAnswered = performance.now();
    }
    assert.equal(connection.closed, false, "open while requests came");
    await within(connection.closedPromise, 10_000, "the idle session's end");
    // The server saw the last request at most a reply's trip before its answer arrived here.
    const silentMs = performance.now() - lastAnswered;
    assert.ok(silentMs >= IDLE_S * 1000 - 100, `closed after ${silentMs} ms of silence`);
    assert.match(String(connection.closedReason), /idle for 0\.6 s/);
    assert.equal(await serverLogLines(server, "idle for 0.6 s"), 1);
  } finally {
    await connection.close();
  }
});
