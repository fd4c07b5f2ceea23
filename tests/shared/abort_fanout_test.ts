import assert from "node:assert/strict";
import { AbortFanout } from "../../src/shared/abort_fanout.ts";

/** A signal whose listeners are counted as they are added and removed. */
function countedSignal() {
  const controller = new AbortController();
  const counts = { added: 0, removed: 0 };
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    counts.added++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    counts.removed++;
    remove(...args);
  };
  return { controller, signal, counts };
}

Deno.test("a thousand waiters on one signal share one listener and all run, in order, once", () => {
  const { controller, signal, counts } = countedSignal();
  const fanout = new AbortFanout();
  const ran: number[] = [];
  for (let index = 0; index < 1000; index++) fanout.onAbort(signal, () => ran.push(index));
  assert.equal(counts.added, 1);
  controller.abort();
  controller.abort(); // A second abort is no event.
  assert.deepEqual(ran, Array.from({ length: 1000 }, (_, index) => index));
  assert.equal(fanout.signals, 0, "nothing kept of the aborted signal");
});

Deno.test("a waiter that left is not called, and the last one to leave removes the listener", () => {
  const { controller, signal, counts } = countedSignal();
  const fanout = new AbortFanout();
  const ran: string[] = [];
  const leaveA = fanout.onAbort(signal, () => ran.push("a"));
  const leaveB = fanout.onAbort(signal, () => ran.push("b"));
  leaveA();
  leaveA(); // Leaving twice changes nothing.
  assert.equal(counts.removed, 0, "b still waits");
  leaveB();
  assert.equal(counts.removed, 1);
  assert.equal(fanout.signals, 0);
  const leaveC = fanout.onAbort(signal, () => ran.push("c"));
  assert.equal(counts.added, 2, "a new waiter attaches again");
  controller.abort();
  leaveC(); // After the abort: nothing to remove.
  assert.deepEqual(ran, ["c"]);
  assert.equal(counts.removed, 1);
});

Deno.test("waiters on different signals are told only of their own", () => {
  const first = new AbortController();
  const second = new AbortController();
  const fanout = new AbortFanout();
  const ran: string[] = [];
  fanout.onAbort(first.signal, () => ran.push("first"));
  fanout.onAbort(second.signal, () => ran.push("second"));
  assert.equal(fanout.signals, 2);
  second.abort();
  assert.deepEqual(ran, ["second"]);
  assert.equal(fanout.signals, 1);
});
