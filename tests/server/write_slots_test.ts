import assert from "node:assert/strict";
import { WRITES_AT_ONCE, WriteSlots } from "../../src/server/write_slots.ts";

/** Whether `promise` has settled by the time the microtasks queued now have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("a session's write slots: as many as there are at once, the next waits for one given back", async () => {
  const slots = new WriteSlots();
  const held = await Promise.all(Array.from({ length: WRITES_AT_ONCE }, () => slots.acquire()));
  const next = slots.acquire();
  assert.equal(await settled(next), false, "no slot is left");
  held[0]();
  assert.equal(await settled(next), true, "the slot given back is the waiter's");
});

Deno.test("a slot given back twice counts once, and waiters get slots in the order they asked", async () => {
  const slots = new WriteSlots(1);
  const first = await slots.acquire();
  const order: string[] = [];
  const second = slots.acquire().then((release) => (order.push("second"), release));
  const third = slots.acquire().then((release) => (order.push("third"), release));
  first();
  first(); // Again: nothing more is freed.
  assert.equal(await settled(second), true);
  assert.equal(await settled(third), false, "the twice-given slot went to one waiter only");
  (await second)();
  await third;
  assert.deepEqual(order, ["second", "third"]);
});
