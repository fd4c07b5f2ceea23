import assert from "node:assert/strict";
import { CheckQueue, CheckQueueBusyError } from "../../src/auth/check_queue.ts";

/** A task that runs until `finish` is called; `started` tells whether it began. */
function heldTask() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => finish = resolve);
  const task = {
    started: false,
    finish,
    run: () => {
      task.started = true;
      return done;
    },
  };
  return task;
}

/** One run() call: its outcome and the places it heard. */
function enqueue(queue: CheckQueue, task: () => Promise<unknown>) {
  const call = {
    positions: [] as [number, number][],
    failure: undefined as unknown,
    settled: false,
    promise: undefined as unknown as Promise<unknown>,
  };
  call.promise = queue.run(task, (position, waiting) => call.positions.push([position, waiting]))
    .catch((error) => call.failure = error)
    .finally(() => call.settled = true);
  return call;
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("at most `slots` checks run at once; the others start in arrival order", async () => {
  const queue = new CheckQueue({ slots: 2, maxWaitMs: 10_000 });
  const tasks = [heldTask(), heldTask(), heldTask(), heldTask()];
  const calls = tasks.map((task) => enqueue(queue, task.run));
  await settle();
  assert.deepEqual(tasks.map((task) => task.started), [true, true, false, false]);
  assert.equal(queue.waiting, 2);
  tasks[1].finish();
  await settle();
  assert.deepEqual(tasks.map((task) => task.started), [true, true, true, false]);
  tasks[0].finish();
  await settle();
  assert.ok(tasks[3].started);
  tasks[2].finish();
  tasks[3].finish();
  await Promise.all(calls.map((call) => call.promise));
  assert.ok(calls.every((call) => call.failure === undefined));
});

Deno.test("a waiting check hears its place as it moves up, and 0 when it starts", async () => {
  const queue = new CheckQueue({ slots: 1, maxWaitMs: 10_000 });
  const tasks = [heldTask(), heldTask(), heldTask()];
  const calls = tasks.map((task) => enqueue(queue, task.run));
  await settle();
  assert.deepEqual(calls[0].positions, [], "a check that runs at once hears nothing");
  assert.deepEqual(calls[1].positions, [[1, 1]]);
  assert.deepEqual(calls[2].positions, [[2, 2]]);
  tasks[0].finish();
  await settle();
  assert.deepEqual(calls[1].positions, [[1, 1], [0, 1]]);
  assert.deepEqual(calls[2].positions, [[2, 2], [1, 1]]);
  tasks[1].finish();
  tasks[2].finish();
  await Promise.all(calls.map((call) => call.promise));
  assert.deepEqual(calls[2].positions, [[2, 2], [1, 1], [0, 0]]);
});

Deno.test("a check that would wait past the bound even at the fastest pace seen is refused at once, unrun", async () => {
  const queue = new CheckQueue({ slots: 1, maxWaitMs: 250 });
  queue.observe(100);
  queue.observe(400); // Slower checks do not raise the estimate: the fastest counts.
  assert.equal(queue.fastestMs, 100);
  const holder = heldTask();
  const calls = [enqueue(queue, holder.run), enqueue(queue, () => Promise.resolve())];
  await settle();
  assert.equal(queue.leastWaitMs(), 200, "two checks ahead, 100 ms each at best");
  calls.push(enqueue(queue, () => Promise.resolve()));
  await settle();
  assert.equal(queue.leastWaitMs(), 300);
  let ran = false;
  const started = performance.now();
  const refused = enqueue(queue, () => Promise.resolve(void (ran = true)));
  await refused.promise;
  assert.ok(performance.now() - started < 50, "refused without waiting");
  assert.ok(refused.failure instanceof CheckQueueBusyError);
  assert.match(
    (refused.failure as Error).message,
    /^server busy: 2 logins are waiting for a password check \(at least 1 s\); try again later$/,
  );
  assert.deepEqual(refused.positions, [], "never queued");
  assert.equal(queue.waiting, 2);
  holder.finish();
  await Promise.all(calls.map((call) => call.promise));
  assert.equal(ran, false);
  assert.ok(calls.every((call) => call.failure === undefined), "the others are served");
});

Deno.test("a check still waiting at the bound is taken out and refused; those behind move up", async () => {
  const queue = new CheckQueue({ slots: 1, maxWaitMs: 150 });
  const holder = heldTask();
  const first = enqueue(queue, holder.run);
  await settle();
  const timedOut = enqueue(queue, () => Promise.resolve());
  await new Promise((resolve) => setTimeout(resolve, 60));
  let ranLate = false;
  const behind = enqueue(queue, () => Promise.resolve(void (ranLate = true)));
  await settle();
  assert.deepEqual(behind.positions, [[2, 2]]);
  await timedOut.promise;
  assert.ok(timedOut.failure instanceof CheckQueueBusyError);
  assert.match((timedOut.failure as Error).message, /waited 0\.15 s for a password check/);
  assert.deepEqual(timedOut.positions, [[1, 1], [0, 1]]);
  assert.deepEqual(behind.positions, [[2, 2], [1, 1]]);
  assert.equal(queue.waiting, 1);
  holder.finish();
  await Promise.all([first.promise, behind.promise]);
  assert.equal(behind.failure, undefined);
  assert.ok(ranLate);
});

Deno.test("before any check has finished nobody is refused at once; a failing check frees its slot", async () => {
  const queue = new CheckQueue({ slots: 1, maxWaitMs: 10_000 });
  assert.equal(queue.fastestMs, undefined);
  const failing = enqueue(queue, () => Promise.reject(new Error("boom")));
  const calls = Array.from({ length: 50 }, () => enqueue(queue, () => Promise.resolve()));
  await Promise.all([failing.promise, ...calls.map((call) => call.promise)]);
  assert.equal((failing.failure as Error).message, "boom");
  assert.ok(calls.every((call) => call.failure === undefined));
  assert.equal(queue.waiting, 0);
  assert.ok(queue.fastestMs !== undefined, "durations are measured");
});

Deno.test("a queue needs at least one slot", () => {
  assert.throws(() => new CheckQueue({ slots: 0, maxWaitMs: 1 }), RangeError);
});

Deno.test("each check's wait for its turn is told: about 0 with a slot free, the time queued, the bound when refused after waiting, nothing when refused at once", async () => {
  const waits: number[] = [];
  const queue = new CheckQueue({ slots: 1, maxWaitMs: 100, onWait: (ms) => waits.push(ms) });
  const holder = heldTask();
  const first = enqueue(queue, holder.run);
  await settle();
  assert.equal(waits.length, 1);
  assert.ok(waits[0] < 20, `a free slot: ${waits[0]} ms`);
  const timedOut = enqueue(queue, () => Promise.resolve());
  await timedOut.promise;
  assert.ok(timedOut.failure instanceof CheckQueueBusyError);
  assert.deepEqual(waits.slice(1), [100], "refused after waiting the bound");
  const queued = enqueue(queue, () => Promise.resolve());
  await new Promise((resolve) => setTimeout(resolve, 30)); // Time for it to spend in line.
  holder.finish();
  await Promise.all([first.promise, queued.promise]);
  assert.equal(waits.length, 3);
  assert.ok(waits[2] >= 25 && waits[2] < 100, `queued behind the first: ${waits[2]} ms`);
  const slow = new CheckQueue({ slots: 1, maxWaitMs: 100, onWait: (ms) => waits.push(ms) });
  slow.observe(1_000); // Checks take a second here: one behind a running check would wait too long.
  const second = heldTask();
  const running = enqueue(slow, second.run);
  await settle();
  const refused = enqueue(slow, () => Promise.resolve());
  await refused.promise;
  assert.ok(refused.failure instanceof CheckQueueBusyError);
  assert.equal(waits.length, 4, "the refusal at once waited for nothing, and is not told");
  second.finish();
  await running.promise;
});
