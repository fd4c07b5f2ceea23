import assert from "node:assert/strict";
import { DeadlineError, withDeadline } from "../../src/server/deadline.ts";

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

Deno.test("a promise that settles in time resolves with its value and onExpire is not called", async () => {
  let expired = 0;
  assert.equal(await withDeadline(Promise.resolve(42), 1000, "login", () => expired++), 42);
  assert.equal(
    await withDeadline(delay(5, "late but in time"), 1000, "x", () => expired++),
    "late but in time",
  );
  assert.equal(expired, 0);
});

Deno.test("a promise that rejects in time rejects with its own error", async () => {
  let expired = 0;
  const failure = new Error("reset");
  await assert.rejects(
    withDeadline(Promise.reject(failure), 1000, "login", () => expired++),
    (error) => error === failure,
  );
  assert.equal(expired, 0);
});

Deno.test("a promise still pending at the deadline rejects with DeadlineError and calls onExpire once", async () => {
  let expired = 0;
  let release: (value: string) => void = () => {};
  const pending = new Promise<string>((resolve) => release = resolve);
  await assert.rejects(withDeadline(pending, 20, "login", () => expired++), (error) => {
    assert.ok(error instanceof DeadlineError);
    assert.equal(error.name, "DeadlineError");
    assert.equal(error.message, "login did not complete within 0.02 s");
    return true;
  });
  assert.equal(expired, 1);
  release("too late");
  await delay(5, undefined);
  assert.equal(expired, 1);
});

Deno.test("onExpire runs before the DeadlineError is seen", async () => {
  const events: string[] = [];
  const never = new Promise<never>(() => {});
  await withDeadline(never, 1, "waiting for a free slot", () => events.push("expire")).catch(
    (error) => events.push(error instanceof DeadlineError ? "rejected" : "other"),
  );
  assert.deepEqual(events, ["expire", "rejected"]);
});

Deno.test("without onExpire the deadline still rejects", async () => {
  await assert.rejects(withDeadline(new Promise(() => {}), 1, "idle"), DeadlineError);
});
