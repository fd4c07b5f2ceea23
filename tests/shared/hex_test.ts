import assert from "node:assert/strict";
import { fromHex, toHex } from "../../src/shared/hex.ts";

Deno.test("toHex spells every byte value as two lowercase digits, in order", () => {
  const every = Uint8Array.from({ length: 256 }, (_, index) => index);
  const spelled = toHex(every);
  assert.equal(spelled.length, 512);
  for (let index = 0; index < 256; index++) {
    assert.equal(spelled.slice(index * 2, index * 2 + 2), index.toString(16).padStart(2, "0"));
  }
  assert.equal(toHex(new Uint8Array(0)), "");
});

Deno.test("fromHex reads what toHex wrote, in either case", () => {
  const digest = crypto.getRandomValues(new Uint8Array(32));
  assert.deepEqual(fromHex(toHex(digest)), digest);
  assert.deepEqual(fromHex(toHex(digest).toUpperCase()), digest);
  assert.deepEqual(fromHex(""), new Uint8Array(0));
});

Deno.test("fromHex refuses what is not pairs of hex digits, naming its start", () => {
  for (const bad of ["abc", "0g", "zz", " 00", "00 ", "0x00"]) {
    assert.throws(() => fromHex(bad), (error: unknown) => {
      assert.ok(error instanceof RangeError, `${JSON.stringify(bad)}: ${error}`);
      assert.equal(error.message, `not hex: ${bad}`);
      return true;
    });
  }
  assert.throws(() => fromHex("q".repeat(100)), { message: `not hex: ${"q".repeat(16)}` });
});
