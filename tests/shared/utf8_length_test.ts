import assert from "node:assert/strict";
import { utf8Length } from "../../src/shared/utf8_length.ts";
import { Mulberry32 } from "../helpers/random.ts";

const encoder = new TextEncoder();

Deno.test("utf8Length agrees with TextEncoder on every kind of character, lone surrogates included", () => {
  const samples = ["", "a", "é", "€", "😀", "a😀b", "\ud800", "\udc00x", "\ud800\ud800", "x\ud83d"];
  for (const text of samples) assert.equal(utf8Length(text), encoder.encode(text).length, text);
});

Deno.test("utf8Length agrees with TextEncoder on random strings of random code units", () => {
  const random = new Mulberry32(11);
  for (let round = 0; round < 2000; round++) {
    const units = Array.from(
      { length: random.below(12) },
      () => [0x41, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xdc00, 0x7ff, 0x800, 0xffff][random.below(9)],
    );
    const text = String.fromCharCode(...units);
    assert.equal(utf8Length(text), encoder.encode(text).length, JSON.stringify(text));
  }
});
