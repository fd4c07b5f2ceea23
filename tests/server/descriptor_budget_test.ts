import assert from "node:assert/strict";
import {
  BASE_RESERVE,
  countFreeDescriptors,
  descriptorBudget,
  FILES_PER_SESSION,
  isOutOfDescriptors,
  REFUSAL_ROOM,
} from "../../src/server/descriptor_budget.ts";

const DEFAULT_CAPS = { maxClients: 10, maxQueue: 128, maxUnauthenticated: 128 };
const STAGES = 10 + 128 + 128 + REFUSAL_ROOM;
const RESERVE = BASE_RESERVE + 10 * FILES_PER_SESSION;

/** A countFree that finds `free` descriptors, and records how many it was asked to look for. */
function finding(free: number) {
  const asked: number[] = [];
  return { asked, countFree: (upTo: number) => (asked.push(upTo), Math.min(free, upTo)) };
}

Deno.test("with descriptors to spare the stages' caps set the bound, and the count stops there", () => {
  const { asked, countFree } = finding(20_000);
  const budget = descriptorBudget(DEFAULT_CAPS, "/unused", countFree);
  assert.deepEqual(asked, [STAGES + RESERVE], "it looks for no more than it could use");
  assert.deepEqual(budget, {
    maxConnections: STAGES,
    free: STAGES + RESERVE,
    reserve: RESERVE,
    limitedByDescriptors: false,
  });
});

Deno.test("under a low open-file limit the bound is what is left after the reserve", () => {
  const budget = descriptorBudget(DEFAULT_CAPS, "/unused", finding(230).countFree);
  assert.deepEqual(budget, {
    maxConnections: 230 - 115,
    free: 230,
    reserve: 115,
    limitedByDescriptors: true,
  }, "the reserve is at most half of what is free");
  // With twice the reserve free, but not all the stages want, the whole reserve is kept.
  const manyQueued = { ...DEFAULT_CAPS, maxQueue: 1024 };
  const roomy = 2 * RESERVE + 100;
  const roomier = descriptorBudget(manyQueued, "/unused", finding(roomy).countFree);
  assert.equal(roomier.reserve, RESERVE);
  assert.equal(roomier.maxConnections, roomy - RESERVE);
  assert.equal(roomier.limitedByDescriptors, true);
});

Deno.test("even with almost no descriptor free one connection is allowed", () => {
  assert.equal(descriptorBudget(DEFAULT_CAPS, "/unused", finding(1).countFree).maxConnections, 1);
  assert.equal(descriptorBudget(DEFAULT_CAPS, "/unused", finding(0).countFree).maxConnections, 1);
});

Deno.test("counting free descriptors opens up to the number asked for and closes them all", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(countFreeDescriptors(dir, 25), 25);
    assert.equal(countFreeDescriptors(dir, 0), 0);
    assert.throws(() => countFreeDescriptors(`${dir}/missing`, 5), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("EMFILE and ENFILE mean out of descriptors; other errors do not", () => {
  assert.ok(isOutOfDescriptors(Object.assign(new Error("x"), { code: "EMFILE" })));
  assert.ok(isOutOfDescriptors(Object.assign(new Error("x"), { code: "ENFILE" })));
  assert.ok(!isOutOfDescriptors(new Deno.errors.NotFound("x")));
  assert.ok(!isOutOfDescriptors(undefined));
});
