import assert from "node:assert/strict";
import { BatchQueue, fitsPathField } from "../../src/client/batch_queue.ts";
import { MAX_PATH_BYTES } from "../../src/protocol/constants.ts";

const LIMITS = { items: 3, contentBytes: 100, requestBytes: 60, fixedBytes: 10 };

Deno.test("a batch goes out when the next item would not fit it: by count, content bytes or request bytes", () => {
  const sent: number[][] = [];
  const queue = new BatchQueue<number>(LIMITS, (items) => sent.push(items));
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
  const queue = new BatchQueue<string>(LIMITS, (items) => sent.push(items));
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
