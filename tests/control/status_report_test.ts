/**
 * The status report: its JSON fields from the registry and counters, and
 * the table people read.
 */

import assert from "node:assert/strict";
import { buildStatus } from "../../src/control/status_report.ts";
import { formatDuration, formatStatus } from "../../src/control/status_table.ts";
import { LiveSession, SessionRegistry } from "../../src/server/session_registry.ts";

const MIB = 1024 * 1024;

function busyServer() {
  let now = Date.parse("2026-12-01T14:00:00Z");
  const clock = () => now;
  const registry = new SessionRegistry({ now: clock });
  now += 60_000;
  const alice = new LiveSession(
    { sessionId: "3f9c2a1b", user: "alice", remote: "10.0.0.7:51234" },
    clock,
  );
  const bob = new LiveSession(
    { sessionId: "77aa01cd", user: "bob", remote: "10.0.0.9:40022" },
    clock,
  );
  registry.add(alice);
  registry.add(bob);
  const upload = alice.begin({
    direction: "upload",
    path: "/big.iso",
    size: 100 * MIB,
    offset: 20 * MIB,
  });
  now += 4_000;
  upload.moved = 8 * MIB;
  const source = {
    registry,
    metrics: { bytesIn: 3 * MIB, bytesOut: 512, transfersCompleted: 7, queued: 2 },
    pid: 4242,
    version: "0.1.0",
    host: "0.0.0.0",
    port: 33000,
    maxClients: 10,
    maxQueue: 128,
    stopping: false,
  };
  return { source, now };
}

Deno.test("the report names each session and its transfer with bytes done, size and rate, and the totals", () => {
  const { source, now } = busyServer();
  assert.deepEqual(buildStatus(source, now), {
    version: 1,
    server: {
      pid: 4242,
      version: "0.1.0",
      host: "0.0.0.0",
      port: 33000,
      startedAt: "2026-12-01T14:00:00.000Z",
      uptimeSeconds: 64,
      stopping: false,
      maxClients: 10,
    },
    sessions: [
      {
        id: "3f9c2a1b",
        user: "alice",
        remote: "10.0.0.7:51234",
        since: "2026-12-01T14:01:00.000Z",
        transfers: [{
          direction: "upload",
          path: "/big.iso",
          size: 100 * MIB,
          offset: 20 * MIB,
          done: 28 * MIB,
          startedAt: "2026-12-01T14:01:00.000Z",
          bytesPerSecond: 2 * MIB,
        }],
      },
      {
        id: "77aa01cd",
        user: "bob",
        remote: "10.0.0.9:40022",
        since: "2026-12-01T14:01:00.000Z",
        transfers: [],
      },
    ],
    queue: { waiting: 2, max: 128 },
    totals: { sessionsServed: 2, bytesIn: 3 * MIB, bytesOut: 512, transfersCompleted: 7 },
  });
});

Deno.test("the table: summary lines, then a row per session with its transfer", () => {
  const { source, now } = busyServer();
  const text = formatStatus(buildStatus({ ...source, stopping: true }, now), now);
  const lines = text.split("\n");
  assert.equal(
    lines[0],
    "server    pid 4242, version 0.1.0, on 0.0.0.0:33000, up 1m 4s; STOPPING: running transfers are finishing",
  );
  assert.equal(lines[1], "sessions  2 of 10; queue: 2 waiting (at most 128)");
  assert.equal(lines[2], "served    2 sessions, 7 transfers; 3.0 MiB in, 512 B out");
  assert.match(lines[4], /^USER {3}ADDRESS {9}SINCE {5}SESSION {3}TRANSFER$/);
  assert.match(
    lines[5],
    /^alice {2}10\.0\.0\.7:51234 {2}\d\d:\d\d:\d\d {2}3f9c2a1b {2}upload \/big\.iso: 28\.0 MiB of 100\.0 MiB \(28%\), 2\.0 MiB\/s$/,
  );
  assert.match(lines[6], /^bob {4}10\.0\.0\.9:40022 {2}\d\d:\d\d:\d\d {2}77aa01cd {2}-$/);
});

Deno.test("durations read as days and hours, hours to seconds, minutes and seconds, or seconds", () => {
  assert.deepEqual(
    [5, 125, 3723, 2 * 86400 + 3 * 3600 + 7].map(formatDuration),
    ["5s", "2m 5s", "1h 2m 3s", "2d 3h"],
  );
});
