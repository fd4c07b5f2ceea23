import assert from "node:assert/strict";
import {
  DataSyncs,
  FAST_ASYNC_MS,
  FAST_RUN,
  SLOW_INLINE_MS,
  type SyncableFile,
} from "../../src/shared/data_sync.ts";

/** A file whose syncs take `cost()` ms on a clock the test moves, counting each kind. */
function fakeFile(clock: { now: number }, cost: () => number) {
  const calls = { inline: 0, async: 0 };
  const file: SyncableFile = {
    syncDataSync() {
      calls.inline++;
      clock.now += cost();
    },
    syncData() {
      calls.async++;
      clock.now += cost();
      return Promise.resolve();
    },
  };
  return { file, calls };
}

Deno.test("syncs start on the blocking threads and run inline after a run of fast ones", async () => {
  const clock = { now: 0 };
  const syncs = new DataSyncs(() => clock.now);
  const { file, calls } = fakeFile(clock, () => FAST_ASYNC_MS / 10);
  for (let i = 0; i < FAST_RUN - 1; i++) await syncs.sync(file, 1);
  assert.equal(syncs.inline(1), false, "one short of the run");
  await syncs.sync(file, 1);
  assert.equal(syncs.inline(1), true);
  await syncs.sync(file, 1);
  assert.deepEqual(calls, { async: FAST_RUN, inline: 1 });
  assert.equal(syncs.inline(2), false, "each device on its own");
});

Deno.test("one slow sync breaks the run; a slow inline sync sends the device back", async () => {
  const clock = { now: 0 };
  const syncs = new DataSyncs(() => clock.now);
  let cost = FAST_ASYNC_MS / 10;
  const { file, calls } = fakeFile(clock, () => cost);
  for (let i = 0; i < FAST_RUN - 1; i++) await syncs.sync(file, 7);
  cost = FAST_ASYNC_MS * 4; // A disk: the run starts again.
  await syncs.sync(file, 7);
  cost = FAST_ASYNC_MS / 10;
  for (let i = 0; i < FAST_RUN - 1; i++) await syncs.sync(file, 7);
  assert.equal(syncs.inline(7), false);
  await syncs.sync(file, 7);
  assert.equal(syncs.inline(7), true);
  cost = SLOW_INLINE_MS * 2;
  await syncs.sync(file, 7);
  assert.equal(syncs.inline(7), false, "the slow one was the last inline");
  await syncs.sync(file, 7);
  assert.deepEqual(calls, { async: 2 * FAST_RUN + 1, inline: 1 });
});

Deno.test("a real file on this machine is synced either way without an error", async () => {
  const path = await Deno.makeTempFile();
  try {
    using file = await Deno.open(path, { write: true });
    file.writeSync(new Uint8Array(4096));
    const syncs = new DataSyncs();
    const device = file.statSync().dev;
    for (let i = 0; i < FAST_RUN + 2; i++) await syncs.sync(file, device);
  } finally {
    await Deno.remove(path);
  }
});
