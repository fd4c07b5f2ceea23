import assert from "node:assert/strict";
import { Admission, QueueFullError } from "../../src/server/admission.ts";

/** One acquire() call: its promise, what it heard, and whether it got in. */
interface Caller {
  promise: Promise<() => void>;
  positions: [number, number][];
  release?: () => void;
  failure?: unknown;
}

function call(admission: Admission, signal?: AbortSignal): Caller {
  const caller = { positions: [] } as unknown as Caller;
  caller.promise = admission.acquire(
    (position, waiting) => caller.positions.push([position, waiting]),
    signal,
  );
  caller.promise.then(
    (release) => caller.release = release,
    (error) => caller.failure = error,
  );
  return caller;
}

/** The release function of an admitted caller. */
function releaseOf(caller: Caller): () => void {
  assert.ok(caller.release, "caller was not admitted");
  return caller.release;
}

/** Lets promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("up to maxActive callers are admitted at once without a position", async () => {
  const admission = new Admission(3, 5);
  const callers = [call(admission), call(admission), call(admission)];
  await settle();
  for (const caller of callers) {
    assert.ok(caller.release);
    assert.deepEqual(caller.positions, []);
  }
  assert.equal(admission.active, 3);
  assert.equal(admission.waiting, 0);
});

Deno.test("callers past maxActive wait and hear their 1-based position and the queue length", async () => {
  const admission = new Admission(1, 5);
  call(admission);
  const waiters = [call(admission), call(admission), call(admission)];
  await settle();
  assert.deepEqual(waiters.map((w) => w.positions), [[[1, 1]], [[2, 2]], [[3, 3]]]);
  assert.ok(waiters.every((w) => !w.release));
  assert.equal(admission.active, 1);
  assert.equal(admission.waiting, 3);
});

Deno.test("release admits waiters in FIFO order and re-announces the positions behind", async () => {
  const admission = new Admission(1, 5);
  const first = call(admission);
  const [a, b, c] = [call(admission), call(admission), call(admission)];
  await settle();

  releaseOf(first)();
  await settle();
  assert.ok(a.release && !b.release && !c.release);
  assert.deepEqual(b.positions, [[2, 2], [1, 2]]);
  assert.deepEqual(c.positions, [[3, 3], [2, 2]]);

  releaseOf(a)();
  await settle();
  assert.ok(b.release && !c.release);
  assert.deepEqual(c.positions, [[3, 3], [2, 2], [1, 1]]);

  releaseOf(b)();
  await settle();
  assert.ok(c.release);
  assert.equal(admission.waiting, 0);
  assert.equal(admission.active, 1);
  releaseOf(c)();
  assert.equal(admission.active, 0);
});

Deno.test("a new caller queues behind waiters even when it arrives as a slot frees", async () => {
  const admission = new Admission(1, 5);
  const first = call(admission);
  const waiter = call(admission);
  await settle();
  releaseOf(first)();
  const late = call(admission);
  await settle();
  assert.ok(waiter.release);
  assert.ok(!late.release);
  assert.deepEqual(late.positions, [[1, 1]]);
});

Deno.test("a caller past a full queue is refused with QueueFullError", async () => {
  const admission = new Admission(1, 2);
  call(admission);
  call(admission);
  call(admission);
  await assert.rejects(admission.acquire(() => assert.fail("not queued")), (error) => {
    assert.ok(error instanceof QueueFullError);
    assert.equal(error.waiting, 2);
    assert.match(error.message, /2 connections already waiting/);
    return true;
  });
  assert.equal(admission.waiting, 2);
});

Deno.test("the refusal counts one waiting connection in the singular", async () => {
  const admission = new Admission(1, 1);
  call(admission);
  call(admission);
  await assert.rejects(admission.acquire(() => {}), /server busy: 1 connection already waiting$/);
});

Deno.test("with no queue allowed, a caller past maxActive is refused at once", async () => {
  const admission = new Admission(1, 0);
  call(admission);
  await assert.rejects(admission.acquire(() => {}), QueueFullError);
});

Deno.test("aborting a waiter removes it and re-announces the positions behind it", async () => {
  const admission = new Admission(1, 5);
  const first = call(admission);
  const gone = new AbortController();
  const [a, b, c] = [call(admission), call(admission, gone.signal), call(admission)];
  await settle();

  const reason = new Error("client left");
  gone.abort(reason);
  await settle();
  assert.equal(b.failure, reason);
  assert.equal(admission.waiting, 2);
  assert.deepEqual(a.positions, [[1, 1]], "those ahead are not re-announced");
  assert.deepEqual(c.positions, [[3, 3], [2, 2]]);

  releaseOf(first)();
  await settle();
  assert.ok(a.release && !c.release);
  releaseOf(a)();
  await settle();
  assert.ok(c.release);
  assert.ok(!b.release);
});

Deno.test("aborting after admission changes nothing", async () => {
  const admission = new Admission(1, 5);
  const first = call(admission);
  const gone = new AbortController();
  const waiter = call(admission, gone.signal);
  await settle();
  releaseOf(first)();
  await settle();
  gone.abort();
  await settle();
  assert.ok(waiter.release);
  assert.equal(waiter.failure, undefined);
  assert.equal(admission.active, 1);
});

Deno.test("a signal that is already aborted is refused instead of queued", async () => {
  const admission = new Admission(1, 5);
  call(admission);
  const reason = new Error("gone before asking");
  const promise = admission.acquire(() => {}, AbortSignal.abort(reason));
  promise.catch(() => {});
  assert.equal(admission.waiting, 0, "an aborted caller must not hold a queue place");
  await assert.rejects(promise, (error) => error === reason);
});

Deno.test("releasing twice frees only one slot", async () => {
  const admission = new Admission(1, 5);
  const first = call(admission);
  const [a, b] = [call(admission), call(admission)];
  await settle();
  releaseOf(first)();
  releaseOf(first)();
  await settle();
  assert.ok(a.release);
  assert.ok(!b.release, "the second release must not admit another waiter");
  assert.equal(admission.active, 1);
  releaseOf(a)();
  releaseOf(a)();
  await settle();
  assert.ok(b.release);
  releaseOf(b)();
  releaseOf(b)();
  assert.equal(admission.active, 0);
});
