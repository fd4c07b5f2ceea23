import assert from "node:assert/strict";
import {
  BUFFER_GROWTH_LIMIT_BYTES,
  BufferReclaimer,
  CHECK_EVERY_BYTES,
  EARLY_GROWTH_BYTES,
  EARLY_SHARE,
} from "../../src/transport/buffer_reclaimer.ts";

const MiB = 1024 * 1024;

/** A runtime whose buffer memory, clock and collections the test sets; a collection takes `collectMs`. */
function fakeRuntime(collectMs = 20) {
  const state = { external: 2 * MiB, time: 0, collections: 0, live: 2 * MiB, offered: true };
  const reclaimer = new BufferReclaimer({
    external: () => state.external,
    collector: () =>
      state.offered
        ? () => {
          state.collections++;
          state.time += collectMs;
          state.external = state.live;
        }
        : null,
    now: () => state.time,
  });
  /** `bytes` of traffic that leave `growth` more buffer memory behind. */
  const pass = (growth: number) => {
    state.external += growth;
    reclaimer.note(CHECK_EVERY_BYTES);
  };
  return { state, pass, reclaimer };
}

Deno.test("buffer reclaimer: looks only every CHECK_EVERY_BYTES and leaves small growth to V8", () => {
  const { state, pass, reclaimer } = fakeRuntime();
  pass(0); // Sets the floor.
  state.external += BUFFER_GROWTH_LIMIT_BYTES;
  reclaimer.note(CHECK_EVERY_BYTES - 1);
  assert.equal(state.collections, 0, "not looked at before CHECK_EVERY_BYTES more have passed");
  state.external -= BUFFER_GROWTH_LIMIT_BYTES;
  pass(EARLY_GROWTH_BYTES - 1);
  assert.equal(state.collections, 0, "growth under the early threshold is left alone");
  pass(1);
  assert.equal(state.collections, 1);
});

Deno.test("buffer reclaimer: early collections take at most EARLY_SHARE of the time", () => {
  const collectMs = 25;
  const { state, pass } = fakeRuntime(collectMs);
  pass(0);
  pass(EARLY_GROWTH_BYTES);
  assert.equal(state.collections, 1, "growth past the early threshold collects");
  const pause = collectMs * (1 / EARLY_SHARE - 1);
  state.time += pause - 1;
  pass(EARLY_GROWTH_BYTES);
  assert.equal(state.collections, 1, "too soon after the last: it would exceed its share");
  state.time += 1;
  pass(0);
  assert.equal(state.collections, 2, "once the share allows, the pile is collected");
  // Over a long stream (under the hard limit between two of them), forced collections took
  // their share and no more.
  const start = state.time;
  for (let step = 0; step < 10_000; step++) {
    state.time += 50;
    pass(EARLY_GROWTH_BYTES / 4);
  }
  const spent = (state.collections - 2) * collectMs;
  assert.ok(spent <= EARLY_SHARE * (state.time - start) + collectMs, `${spent} ms collecting`);
  assert.ok(state.collections > 2);
});

Deno.test("buffer reclaimer: growth past the hard limit collects at once, whatever the budget", () => {
  const { state, pass } = fakeRuntime(25);
  pass(0);
  pass(EARLY_GROWTH_BYTES);
  assert.equal(state.collections, 1);
  pass(BUFFER_GROWTH_LIMIT_BYTES);
  assert.equal(state.collections, 2, "no waiting for the budget past the limit");
});

Deno.test("buffer reclaimer: a runtime without a collector is left as it is", () => {
  const { state, pass } = fakeRuntime();
  state.offered = false;
  pass(0);
  pass(BUFFER_GROWTH_LIMIT_BYTES * 2);
  pass(BUFFER_GROWTH_LIMIT_BYTES * 2);
  assert.equal(state.collections, 0);
});
