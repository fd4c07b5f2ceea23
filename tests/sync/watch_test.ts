import assert from "node:assert/strict";
import { WatchScheduler, type WatchTrigger } from "../../src/sync/watch.ts";

/** A run that records its trigger and can be held until released. */
function recorder() {
  const runs: WatchTrigger[] = [];
  let release: (() => void) | undefined;
  let started: (() => void) | undefined;
  return {
    runs,
    run: (trigger: WatchTrigger) => {
      runs.push(trigger);
      started?.();
      return new Promise<void>((resolve) => release = resolve);
    },
    /** Resolves when the next run starts. */
    nextStart: () => new Promise<void>((resolve) => started = resolve),
    finish: () => release?.(),
  };
}

Deno.test("watch: one run at the start, and triggers during a run cause exactly one more", async () => {
  const controller = new AbortController();
  const rec = recorder();
  const scheduler = new WatchScheduler(rec.run, { signal: controller.signal, rescanMs: 3_600_000 });
  const first = rec.nextStart();
  const loop = scheduler.loop();
  await first;
  scheduler.remote();
  scheduler.remote();
  const second = rec.nextStart();
  rec.finish();
  await second;
  assert.deepEqual(rec.runs, ["start", "remote"]);
  controller.abort();
  rec.finish();
  await loop;
  assert.deepEqual(rec.runs, ["start", "remote"]);
});

Deno.test("watch: local events are debounced into one run", async () => {
  const controller = new AbortController();
  const rec = recorder();
  const scheduler = new WatchScheduler(rec.run, {
    signal: controller.signal,
    debounceMs: 20,
    rescanMs: 3_600_000,
  });
  const first = rec.nextStart();
  const loop = scheduler.loop();
  await first;
  rec.finish();
  const second = rec.nextStart();
  for (let index = 0; index < 50; index++) scheduler.local();
  await second;
  assert.deepEqual(rec.runs, ["start", "local"]);
  controller.abort();
  rec.finish();
  await loop;
});

Deno.test("watch: a rescan comes without any event", async () => {
  const controller = new AbortController();
  const rec = recorder();
  const scheduler = new WatchScheduler(rec.run, { signal: controller.signal, rescanMs: 10 });
  const first = rec.nextStart();
  const loop = scheduler.loop();
  await first;
  const second = rec.nextStart();
  rec.finish();
  await second;
  assert.deepEqual(rec.runs, ["start", "rescan"]);
  controller.abort();
  rec.finish();
  await loop;
});
