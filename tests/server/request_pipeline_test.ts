import assert from "node:assert/strict";
import { RequestPipeline } from "../../src/server/request_pipeline.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";

const WRITES = { writes: true };
const READS = { writes: false };

/** A promise and its resolver. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

Deno.test("requests overlap, but each acts in its turn: the order they came in", async () => {
  const pipeline = new RequestPipeline(8);
  const acted: number[] = [];
  const prepared: number[] = [];
  const gates = [gate(), gate(), gate()];
  for (const id of [1, 2, 3]) {
    await pipeline.begin(id, async (turn) => {
      prepared.push(id);
      await gates[id - 1].opened; // The slow part (a disk sync), overlapping the others.
      await turn;
      acted.push(id);
    }, WRITES);
  }
  assert.deepEqual(prepared, [1, 2, 3], "all three started at once");
  gates[2].open();
  gates[1].open();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(acted, [], "the third and second wait for the first");
  gates[0].open();
  await pipeline.settled();
  assert.deepEqual(acted, [1, 2, 3]);
});

Deno.test("a failed request ends in its turn too, and the pipeline goes on", async () => {
  const pipeline = new RequestPipeline(8);
  const ended: string[] = [];
  const first = gate();
  await pipeline.begin(1, async (turn) => {
    await first.opened;
    await turn;
    ended.push("one");
  }, WRITES);
  await pipeline.begin(2, () => Promise.reject(new Error("refused")), WRITES);
  await pipeline.begin(3, async (turn) => {
    await turn;
    ended.push("three");
  }, WRITES);
  first.open();
  await pipeline.settled();
  assert.deepEqual(ended, ["one", "three"]);
});

Deno.test("past its depth, begin waits for a place; an id still in flight is refused", async () => {
  const pipeline = new RequestPipeline(2);
  const gates = [gate(), gate()];
  await pipeline.begin(1, () => gates[0].opened, WRITES);
  await pipeline.begin(2, () => gates[1].opened, WRITES);
  assert.throws(() => pipeline.checkUnused(2), ProtocolError);
  let third = false;
  const admitted = pipeline.begin(3, () => {
    third = true;
    return Promise.resolve();
  }, WRITES);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(third, false, "no place yet");
  gates[0].open();
  await admitted;
  assert.equal(third, true, "the first one's end made a place");
  gates[1].open();
  await pipeline.settled();
  pipeline.checkUnused(2); // Ended: the id is free again.
});

Deno.test("reads overlap one another, but never begin before an earlier write in the pipeline has ended", async () => {
  const pipeline = new RequestPipeline(8);
  const begun: string[] = [];
  const write = gate();
  const read = (name: string) => (turn: Promise<void>) => {
    begun.push(name);
    return turn;
  };
  await pipeline.begin(1, read("read 1"), READS);
  await pipeline.begin(2, read("read 2"), READS);
  assert.deepEqual(begun, ["read 1", "read 2"], "two reads at once");
  await pipeline.begin(3, async (turn) => {
    begun.push("write");
    await write.opened;
    await turn;
  }, WRITES);
  await pipeline.begin(4, read("read after the write"), READS);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(begun, ["read 1", "read 2", "write"], "the read waits for the write");
  write.open();
  await pipeline.settled();
  assert.deepEqual(begun, ["read 1", "read 2", "write", "read after the write"]);
  await pipeline.begin(5, read("read once the writes ended"), READS);
  assert.equal(begun.at(-1), "read once the writes ended", "no write in flight: at once");
  await pipeline.settled();
});

Deno.test("untilFree waits for the request of an id to end, at once for an id not in the pipeline", async () => {
  const pipeline = new RequestPipeline(8);
  const first = gate();
  await pipeline.begin(1, () => first.opened, READS);
  let free = false;
  const waiting = pipeline.untilFree(1)!.then(() => free = true);
  await pipeline.untilFree(2);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(free, false, "id 1 still in the pipeline");
  first.open();
  await waiting;
  pipeline.checkUnused(1);
});

Deno.test("the requests in the pipeline hold at most its byte budget: a larger one waits for room, one larger than the budget runs alone", async () => {
  const pipeline = new RequestPipeline(32, 10);
  const started: number[] = [];
  const gates = new Map([1, 2, 3, 4].map((id) => [id, gate()]));
  const work = (id: number) => async () => {
    started.push(id);
    await gates.get(id)!.opened;
  };
  await pipeline.begin(1, work(1), { writes: false, bytes: 6 });
  let secondBegun = false;
  const second = pipeline.begin(2, work(2), { writes: false, bytes: 6 }).then(() => {
    secondBegun = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual([started, secondBegun], [[1], false], "6 + 6 bytes do not fit in 10");
  gates.get(1)!.open();
  await second;
  assert.deepEqual(started, [1, 2], "room once the first ended");
  gates.get(2)!.open();
  await pipeline.settled();
  await pipeline.begin(3, work(3), { writes: false, bytes: 50 });
  assert.deepEqual(started, [1, 2, 3], "alone, a request over the budget runs");
  gates.get(3)!.open();
  await pipeline.settled();
});
