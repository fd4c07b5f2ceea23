import assert from "node:assert/strict";
import {
  FAST_INLINE_MS,
  FAST_PROBES,
  InlineIo,
  MAX_PROBE_EVERY,
  PROBE_EVERY,
} from "../../src/shared/inline_io.ts";
import { syncData } from "../../src/shared/data_sync.ts";

/** An InlineIo on a clock the test moves, and a call whose inline form takes `cost.ms`. */
function setUp(ms: number) {
  const clock = { now: 0 };
  const cost = { ms };
  const calls = { inline: 0, deferred: 0 };
  const io = new InlineIo(() => clock.now);
  const call = (device: number) =>
    io.run(device, () => {
      calls.inline++;
      clock.now += cost.ms;
      return "inline";
    }, () => {
      calls.deferred++;
      return Promise.resolve("deferred");
    });
  return { io, call, cost, calls };
}

const FAST = FAST_INLINE_MS / 10;
const SLOW = FAST_INLINE_MS * 4;

Deno.test("a device whose probes are fast has its calls run inline", async () => {
  const { io, call, calls } = setUp(FAST);
  for (let i = 0; i < FAST_PROBES - 1; i++) await call(1);
  assert.equal(io.inline(1), false, "one probe short");
  await call(1);
  assert.equal(io.inline(1), true);
  assert.equal(await call(1), "inline");
  assert.deepEqual(calls, { deferred: 0, inline: FAST_PROBES + 1 });
  assert.equal(io.inline(2), false, "each device on its own");
});

Deno.test("a slow device stays on the blocking threads, probed ever more rarely", async () => {
  const { io, call, calls } = setUp(SLOW);
  await call(3); // The first probe: slow.
  let every = PROBE_EVERY * 2;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < every; i++) assert.equal(await call(3), "deferred");
    assert.equal(calls.inline, round + 1, "no probe before its turn");
    await call(3);
    assert.equal(calls.inline, round + 2, "then one probe");
    every = Math.min(every * 2, MAX_PROBE_EVERY);
  }
  assert.equal(io.inline(3), false);
});

Deno.test("a slow inline call sends the device back; fast probes bring it inline again", async () => {
  const { io, call, calls, cost } = setUp(FAST);
  for (let i = 0; i < FAST_PROBES; i++) await call(7);
  assert.equal(io.inline(7), true);
  cost.ms = SLOW;
  await call(7);
  assert.equal(io.inline(7), false, "the slow one was the last inline");
  cost.ms = FAST;
  for (let i = 0; i < PROBE_EVERY; i++) await call(7);
  assert.equal(calls.deferred, PROBE_EVERY);
  for (let i = 0; i < FAST_PROBES; i++) await call(7);
  assert.equal(io.inline(7), true);
});

Deno.test("an inline call that throws rejects, and still counts as timed", async () => {
  const clock = { now: 0 };
  const io = new InlineIo(() => clock.now);
  await assert.rejects(
    io.run(9, () => {
      clock.now += SLOW;
      throw new Deno.errors.NotFound("gone");
    }, () => Promise.resolve(0)),
    Deno.errors.NotFound,
  );
  assert.equal(await io.run(9, () => 1, () => Promise.resolve(2)), 2, "slow: back to deferred");
});

Deno.test("syncData syncs a real file on this machine, inline or not, without an error", async () => {
  const path = await Deno.makeTempFile();
  try {
    using file = await Deno.open(path, { write: true });
    file.writeSync(new Uint8Array(4096));
    const device = file.statSync().dev;
    for (let i = 0; i < PROBE_EVERY + FAST_PROBES; i++) await syncData(file, device);
  } finally {
    await Deno.remove(path);
  }
});
