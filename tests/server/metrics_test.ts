import assert from "node:assert/strict";
import {
  type PerformanceSample,
  PerformanceSampler,
  ServerMetrics,
} from "../../src/server/metrics.ts";

/** A sampler on a clock the test moves by hand, and the lines it wrote. */
function manualSampler() {
  const metrics = new ServerMetrics();
  const lines: PerformanceSample[] = [];
  const clock = { ms: 0, cpuMicros: 0 };
  const sampler = new PerformanceSampler(metrics, {
    now: () => clock.ms,
    cpuUsage: () => ({ user: clock.cpuMicros, system: 0 }),
    memoryUsage: () => ({ rss: 50_000_000, heapUsed: 10_000_000, heapTotal: 20_000_000 }),
    write: (sample) => lines.push(sample),
  });
  /** One interval of `ms` passes, then the sampler's turn. */
  const tick = (ms = 5_000) => {
    clock.ms += ms;
    sampler.sample();
  };
  return { metrics, lines, clock, tick };
}

Deno.test("an idle server writes one line marked idle, then nothing until it is busy again", () => {
  const { metrics, lines, tick } = manualSampler();
  for (let i = 0; i < 100; i++) tick();
  assert.equal(lines.length, 1, "one line for 100 idle intervals");
  assert.equal(lines[0].idle, true);
  metrics.sessions = 1;
  tick();
  tick();
  assert.equal(lines.length, 3, "a line every interval while a session is open");
  assert.deepEqual(lines.slice(1).map((line) => line.idle), [undefined, undefined]);
  metrics.sessions = 0;
  for (let i = 0; i < 100; i++) tick();
  assert.equal(lines.length, 4, "one more line as it becomes idle again");
  assert.deepEqual([lines[3].idle, lines[3].sessions], [true, 0]);
});

Deno.test("bytes moved or a queued login count as busy even with no session open", () => {
  const { metrics, lines, tick } = manualSampler();
  tick(); // idle
  metrics.bytesIn += 10_000;
  tick(2_000);
  assert.equal(lines.length, 2);
  assert.equal(lines[1].bytesInPerSecond, 5_000, "per second of the interval");
  tick(); // nothing moved: idle again
  metrics.queued = 2;
  tick();
  assert.deepEqual(lines.map((line) => [line.idle ?? false, line.queued]), [
    [true, 0],
    [false, 0],
    [true, 0],
    [false, 2],
  ]);
});

Deno.test("CPU percent is the CPU time used over the interval's wall time", () => {
  const { metrics, lines, clock, tick } = manualSampler();
  metrics.sessions = 1;
  clock.cpuMicros += 1_000_000; // one CPU second...
  tick(4_000); // ...in four seconds
  assert.equal(lines[0].cpuPercent, 25);
  assert.equal(metrics.peakRss, 50_000_000);
});
