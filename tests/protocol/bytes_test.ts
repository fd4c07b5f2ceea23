import assert from "node:assert/strict";
import { ByteReader, ByteWriter } from "../../src/protocol/bytes.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";

type Field = [string, (writer: ByteWriter) => void];

const FIELDS: Field[] = [
  ["u8", (w) => w.u8(0xab)],
  ["u16", (w) => w.u16(0xabcd)],
  ["u32", (w) => w.u32(0xabcdef01)],
  ["u64", (w) => w.u64(2 ** 40 + 3)],
  ["bytes", (w) => w.bytes(new Uint8Array(40).fill(7))],
  ["string", (w) => w.string("grow ".repeat(10), 100)],
];

Deno.test("ByteWriter grows its buffer for every field type", () => {
  // Capacity 9 holds only the header, so the first field of each kind must grow the buffer.
  const failures: string[] = [];
  for (const [name, write] of FIELDS) {
    try {
      write(new ByteWriter(1, 2, 9));
    } catch (error) {
      failures.push(`${name}: ${error}`);
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("ByteWriter keeps earlier fields intact when it grows", () => {
  const writer = new ByteWriter(0x10, 7, 9);
  writer.u8(1).u16(2).u32(3).u64(4).bytes(Uint8Array.of(5, 6)).string("é", 10);
  for (let i = 0; i < 100; i++) writer.u32(i);
  const frame = writer.finish();
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  assert.equal(view.getUint32(0), frame.length - 4);
  assert.equal(view.getUint8(4), 0x10);
  assert.equal(view.getUint32(5), 7);
  const reader = new ByteReader(frame.subarray(9));
  assert.deepEqual(
    [
      reader.u8(),
      reader.u16(),
      reader.u32(),
      reader.u64(),
      [...reader.bytes(2)],
      reader.string(10),
    ],
    [1, 2, 3, 4, [5, 6], "é"],
  );
  for (let i = 0; i < 100; i++) assert.equal(reader.u32(), i);
  reader.end("test");
});

Deno.test("ByteReader.bytes returns a view into the payload, not a copy", () => {
  const payload = Uint8Array.of(1, 2, 3, 4);
  const view = new ByteReader(payload.subarray(1)).bytes(2);
  assert.equal(view.buffer, payload.buffer);
  assert.deepEqual([...view], [2, 3]);
});

Deno.test("ByteReader reads a payload that is a view at an offset", () => {
  const backing = Uint8Array.of(0xff, 0xff, 0, 0, 0, 42, 0xff);
  const reader = new ByteReader(backing.subarray(2, 6));
  assert.equal(reader.remaining, 4);
  assert.equal(reader.u32(), 42);
  assert.equal(reader.remaining, 0);
  assert.throws(() => reader.u8(), ProtocolError);
});

Deno.test("ByteReader.end reports the number of trailing bytes", () => {
  const reader = new ByteReader(new Uint8Array(3));
  reader.u8();
  assert.throws(() => reader.end("Thing"), /Thing has 2 unexpected trailing bytes/);
});
