import assert from "node:assert/strict";
import {
  DataSyncs,
  FAST_INLINE_MS,
  FAST_PROBES,
  MAX_PROBE_EVERY,
  PROBE_EVERY,
  type SyncableFile,
} from "../../src/shared/data_sync.ts";

/** A file whose syncs take `cost.ms` on a clock the test moves, counting each kind. */
function fakeFile(clock: { now: number }, cost: { ms: number }) {
  const calls = { inline: 0, async: 0 };
  const file: SyncableFile = {
    syncDataSync() {
      calls.inline++;
      clock.now += cost.ms;
    },
    syncData() {
      calls.async++;
      return Promise.resolve();
    },
  };
  return { file, calls };
}

function setUp(ms: number) {
  const clock = { now: 0 };
  const cost = { ms };
  return { syncs: new DataSyncs(() => clock.now), cost, ...fakeFile(clock, cost) };
}

const FAST = FAST_INLINE_MS / 10;
const SLOW = FAST_INLINE_MS * 4;

Deno.test("a device whose probes are fast has its syncs run inline", async () => {
  const { syncs, file, calls } = setUp(FAST);
  for (let i = 0; i < FAST_PROBES - 1; i++) await syncs.sync(file, 1);
  assert.equal(syncs.inline(1), false, "one probe short");
  await syncs.sync(file, 1);
  assert.equal(syncs.inline(1), true);
  await syncs.sync(file, 1);
  assert.deepEqual(calls, { async: 0, inline: FAST_PROBES + 1 });
  assert.equal(syncs.inline(2), false, "each device on its own");
});

Deno.test("a slow device stays on the blocking threads, probed ever more rarely", async () => {
  const { syncs, file, calls } = setUp(SLOW);
  await syncs.sync(file, 3); // The first probe: slow.
  let every = PROBE_EVERY * 2;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < every; i++) await syncs.sync(file, 3);
    assert.equal(calls.inline, round + 1, "no probe before its turn");
    await syncs.sync(file, 3);
    assert.equal(calls.inline, round + 2, "then one probe");
    every = Math.min(every * 2, MAX_PROBE_EVERY);
  }
  assert.equal(syncs.inline(3), false);
});

Deno.test("a slow inline sync sends the device back; fast probes bring it inline again", async () => {
  const { syncs, file, calls, cost } = setUp(FAST);
  for (let i = 0; i < FAST_PROBES; i++) await syncs.sync(file, 7);
  assert.equal(syncs.inline(7), true);
  cost.ms = SLOW;
  await syncs.sync(file, 7);
  assert.equal(syncs.inline(7), false, "the slow one was the last inline");
  cost.ms = FAST;
  for (let i = 0; i < PROBE_EVERY; i++) await syncs.sync(file, 7);
  assert.equal(calls.async, PROBE_EVERY);
  for (let i = 0; i < FAST_PROBES; i++) await syncs.sync(file, 7);
  assert.equal(syncs.inline(7), true);
});

Deno.test("a real file on this machine is synced either way without an error", async () => {
  const path = await Deno.makeTempFile();
  try {
    using file = await Deno.open(path, { write: true });
    file.writeSync(new Uint8Array(4096));
    const syncs = new DataSyncs();
    const device = file.statSync().dev;
    for (let i = 0; i < PROBE_EVERY + FAST_PROBES; i++) await syncs.sync(file, device);
  } finally {
    await Deno.remove(path);
  }
});
