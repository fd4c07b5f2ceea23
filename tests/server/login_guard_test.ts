import assert from "node:assert/strict";
import { LoginGuard } from "../../src/server/login_guard.ts";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => now += ms };
}

const options = {
  maxFailuresPerUser: 3,
  maxFailuresPerAddress: 5,
  lockoutMs: 60_000,
  windowMs: 600_000,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
};

Deno.test("each failure doubles the delay, up to the maximum", () => {
  const guard = new LoginGuard({ ...options, maxFailuresPerUser: 100, maxFailuresPerAddress: 100 });
  const delays = Array.from({ length: 6 }, () => guard.recordFailure("alice", "10.0.0.1").delayMs);
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
});

Deno.test("a user is locked out at the threshold, for the lockout time, and others are not", () => {
  const time = clock();
  const guard = new LoginGuard(options, time.now);
  assert.equal(guard.recordFailure("alice", "10.0.0.1").lockedOut, undefined);
  assert.equal(guard.recordFailure("alice", "10.0.0.2").lockedOut, undefined);
  assert.deepEqual(guard.recordFailure("alice", "10.0.0.3").lockedOut, {
    scope: "user",
    retryAfterMs: 60_000,
  });
  assert.equal(guard.check("alice", "10.0.0.9")?.scope, "user");
  assert.equal(guard.check("bob", "10.0.0.1"), undefined, "bob is not affected");
  time.advance(59_000);
  assert.equal(guard.check("alice", "10.0.0.9")?.retryAfterMs, 1_000);
  time.advance(1_001);
  assert.equal(guard.check("alice", "10.0.0.9"), undefined, "the lockout ends");
});

Deno.test("an address guessing many user names is locked out as an address", () => {
  const guard = new LoginGuard(options, clock().now);
  for (const user of ["a", "b", "c", "d"]) guard.recordFailure(user, "10.6.6.6");
  assert.deepEqual(guard.recordFailure("e", "10.6.6.6").lockedOut?.scope, "address");
  assert.equal(guard.check("anyone", "10.6.6.6")?.scope, "address");
  assert.equal(guard.check("anyone", "10.0.0.1"), undefined);
});

Deno.test("failures older than the window are forgotten; success clears the user's count", () => {
  const time = clock();
  const guard = new LoginGuard(options, time.now);
  guard.recordFailure("alice", "10.0.0.1");
  guard.recordFailure("alice", "10.0.0.1");
  time.advance(600_001);
  assert.equal(guard.recordFailure("alice", "10.0.0.1").delayMs, 100, "counting starts again");
  guard.recordFailure("alice", "10.0.0.1");
  guard.recordSuccess("alice");
  assert.equal(guard.recordFailure("alice", "10.0.0.1").delayMs, 400, "the address count stays");
  assert.equal(guard.check("alice", "10.0.0.1"), undefined);
});
