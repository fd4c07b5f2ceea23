import assert from "node:assert/strict";
import { RateLimiter } from "../../src/shared/rate_limiter.ts";

/** A fake clock whose sleeps advance time. */
function fakeTime() {
  let now = 0;
  return {
    now: () => now,
    sleep: (ms: number) => (now += ms, Promise.resolve()),
    elapsed: () => now,
  };
}

Deno.test("a long run of takes averages exactly the rate", async () => {
  const time = fakeTime();
  const limiter = new RateLimiter(1_000_000, { now: time.now, sleep: time.sleep });
  for (let index = 0; index < 100; index++) await limiter.take(262_144);
  const expected = (100 * 262_144 - 100_000) / 1_000_000 * 1000; // Minus the initial burst.
  assert.ok(Math.abs(time.elapsed() - expected) < 1, `${time.elapsed()} ms vs ${expected} ms`);
});

Deno.test("a take within the burst passes without waiting", async () => {
  const time = fakeTime();
  const limiter = new RateLimiter(1000, { burst: 500, now: time.now, sleep: time.sleep });
  await limiter.take(400);
  assert.equal(time.elapsed(), 0);
  await limiter.take(400);
  assert.equal(time.elapsed(), 300, "the 300-unit debt takes 0.3 s to pay off");
});

Deno.test("concurrent takers share the rate", async () => {
  const time = fakeTime();
  const limiter = new RateLimiter(100, { burst: 1, now: time.now, sleep: time.sleep });
  await Promise.all([limiter.take(50), limiter.take(50), limiter.take(100)]);
  assert.ok(Math.abs(time.elapsed() - 1990) < 1, `${time.elapsed()} ms`);
});

Deno.test("a rate must be positive", () => {
  assert.throws(() => new RateLimiter(0), RangeError);
});

Deno.test("an aborted signal ends a wait at once, and later takes with it do not queue", async () => {
  const never = () => new Promise<void>(() => {}); // A sleep that only an abort can end.
  const limiter = new RateLimiter(100, { burst: 1, now: () => 0, sleep: never });
  const controller = new AbortController();
  const first = limiter.take(50, controller.signal);
  const second = limiter.take(50, controller.signal);
  let settled = 0;
  first.then(() => settled++);
  second.then(() => settled++);
  await Promise.resolve();
  assert.equal(settled, 0, "both wait while the signal is live");
  controller.abort();
  await Promise.all([first, second]);
  await limiter.take(50, controller.signal);
});
