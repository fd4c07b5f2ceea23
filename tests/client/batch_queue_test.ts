import assert from "node:assert/strict";
import { BatchQueue, fitsPathField } from "../../src/client/batch_queue.ts";
import { MAX_PATH_BYTES } from "../../src/protocol/constants.ts";

const LIMITS = { items: 3, contentBytes: 100, requestBytes: 60, fixedBytes: 10 };

interface Named<T> {
  name: T;
  reject(error: unknown): void;
}

/** A queue whose batches are recorded in `sent`, by their items' names. */
function recording<T>(sent: T[][]) {
  const queue = new BatchQueue<Named<T>>(LIMITS, (items) => {
    sent.push(items.map((item) => item.name));
    return Promise.resolve();
  });
  return {
    add: (name: T, cost: { content: number; request: number }) =>
      queue.add({ name, reject: (error) => assert.fail(String(error)) }, cost),
    flush: () => queue.flush(),
  };
}

Deno.test("a batch goes out when the next item would not fit it: by count, content bytes or request bytes", () => {
  const sent: number[][] = [];
  const queue = recording(sent);
  for (const item of [1, 2, 3, 4]) queue.add(item, { content: 1, request: 1 });
  assert.deepEqual(sent, [[1, 2, 3]], "three at most");
  queue.add(5, { content: 100, request: 1 });
  assert.deepEqual(sent, [[1, 2, 3], [4]], "4 and 5 are 101 bytes of content: 5 waits");
  queue.add(6, { content: 0, request: 50 });
  assert.deepEqual(sent, [[1, 2, 3], [4], [5]], "10 + 1 + 50 bytes of request would pass 60");
  queue.flush();
  assert.deepEqual(sent.at(-1), [6]);
  queue.flush();
  assert.equal(sent.length, 4, "nothing queued, nothing sent");
});

Deno.test("what is queued in one turn of the event loop goes out together once it ends", async () => {
  const sent: string[][] = [];
  const queue = recording(sent);
  queue.add("a", { content: 1, request: 1 });
  queue.add("b", { content: 1, request: 1 });
  assert.deepEqual(sent, []);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(sent, [["a", "b"]]);
});

Deno.test("a path longer than the wire's path field does not go in a batch", () => {
  assert.ok(fitsPathField("/docs/a.txt"));
  assert.ok(fitsPathField("é".repeat(MAX_PATH_BYTES / 2)));
  assert.ok(!fitsPathField("é".repeat(MAX_PATH_BYTES / 2 + 1)));
  assert.ok(!fitsPathField("a".repeat(MAX_PATH_BYTES + 1)));
});

Deno.test("a batch whose request fails, or that a cancelled transfer would send, fails each of its items with the reason", async () => {
  const failed: unknown[] = [];
  const reject = (error: unknown) => failed.push(error);
  const broken = new BatchQueue(LIMITS, () => Promise.reject(new Error("connection lost")));
  broken.add({ reject }, { content: 1, request: 1 });
  broken.add({ reject }, { content: 1, request: 1 });
  broken.flush();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(failed.map(String), ["Error: connection lost", "Error: connection lost"]);
  const controller = new AbortController();
  let sends = 0;
  const cancelled = new BatchQueue(LIMITS, () => Promise.resolve(void sends++), controller.signal);
  cancelled.add({ reject }, { content: 1, request: 1 });
  controller.abort(new Error("cancelled"));
  cancelled.flush();
  assert.equal(sends, 0, "nothing sent once cancelled");
  assert.equal(String(failed.at(-1)), "Error: cancelled");
});
