import assert from "node:assert/strict";
import { MAX_FRAME_SIZE, MESSAGE_TYPE } from "../../src/protocol/constants.ts";
import { FrameReader, type FrameReaderOptions } from "../../src/protocol/frame_reader.ts";
import {
  decode,
  encode,
  type Frame,
  Messages,
  type MessageSpec,
} from "../../src/protocol/messages.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";
import { ChunkedSource, concatBytes, header, lengthField, mulberry32 } from "./memory_streams.ts";
import { SAMPLES } from "./message_samples.ts";

/** A frame with `payloadLength` bytes of a recognisable pattern. */
function testFrame(type: number, id: number, payloadLength: number): Uint8Array {
  const payload = Uint8Array.from({ length: payloadLength }, (_, i) => (i * 31 + id) & 0xff);
  return concatBytes(header(type, id, payloadLength), payload);
}

/** Reads frames until the end, copying each payload (the reader reuses its buffer). */
async function readAll(reader: FrameReader): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (let frame = await reader.next(); frame; frame = await reader.next()) {
    frames.push({ ...frame, payload: frame.payload.slice() });
  }
  return frames;
}

async function assertRefused(
  reader: FrameReader,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(reader.next(), (error) => {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

const FRAMES = [
  testFrame(MESSAGE_TYPE.List, 1, 20),
  testFrame(MESSAGE_TYPE.Ok, 2, 0),
  testFrame(MESSAGE_TYPE.Data, 3, 5000),
  testFrame(MESSAGE_TYPE.Error, 0xffffffff, 1),
];
const STREAM = concatBytes(...FRAMES);

for (const chunkSize of [1, 7, Infinity]) {
  Deno.test(`frames arriving ${chunkSize} bytes per read are reassembled whole`, async () => {
    const frames = await readAll(new FrameReader(new ChunkedSource(STREAM, chunkSize)));
    assert.deepEqual(
      frames.map((frame) => [frame.type, frame.id, frame.payload]),
      FRAMES.map((bytes) => [bytes[4], new DataView(bytes.buffer).getUint32(5), bytes.slice(9)]),
    );
  });
}

Deno.test("several frames delivered by one read are all returned without reading again", async () => {
  const source = new ChunkedSource(STREAM);
  const reader = new FrameReader(source);
  for (let i = 0; i < FRAMES.length; i++) assert.ok(await reader.next());
  assert.equal(source.reads, 1);
  assert.equal(await reader.next(), null);
});

Deno.test("the end of the stream between frames is a clean null", async () => {
  assert.equal(await new FrameReader(new ChunkedSource(new Uint8Array())).next(), null);
  const reader = new FrameReader(new ChunkedSource(FRAMES[0], 3));
  assert.ok(await reader.next());
  assert.equal(await reader.next(), null);
});

Deno.test("the end of the stream inside a header or a payload is a ProtocolError", async () => {
  const frame = FRAMES[0];
  for (let cut = 1; cut < frame.length; cut++) {
    for (const chunkSize of [1, Infinity]) {
      const source = new ChunkedSource(concatBytes(FRAMES[1], frame.subarray(0, cut)), chunkSize);
      const reader = new FrameReader(source);
      assert.ok(await reader.next(), "the complete frame before the cut");
      await assertRefused(reader, /closed in the middle of a frame/);
    }
  }
});

Deno.test("a length field over MAX_FRAME_SIZE is refused before the payload is read", async () => {
  for (const length of [MAX_FRAME_SIZE + 1, 0x7fffffff, 0xffffffff]) {
    const source = new ChunkedSource(concatBytes(lengthField(length), new Uint8Array(4096)), 4);
    await assertRefused(new FrameReader(source), /exceeds the limit of 1114112/);
    assert.equal(source.consumed, 4, "only the length field was read");
    assert.equal(source.reads, 1);
  }
});

Deno.test("a frame of exactly MAX_FRAME_SIZE is accepted", async () => {
  const bytes = testFrame(MESSAGE_TYPE.Data, 5, MAX_FRAME_SIZE - 5);
  const frame = await new FrameReader(new ChunkedSource(bytes, 100_000)).next();
  assert.ok(frame);
  assert.equal(frame.payload.length, MAX_FRAME_SIZE - 5);
  assert.deepEqual(frame.payload, bytes.subarray(9));
});

Deno.test("a length field shorter than the type and id is refused", async () => {
  for (const length of [0, 1, 4]) {
    const source = new ChunkedSource(concatBytes(lengthField(length), new Uint8Array(16)));
    await assertRefused(new FrameReader(source), /shorter than a frame header/);
  }
  const empty = await new FrameReader(new ChunkedSource(header(MESSAGE_TYPE.Ok, 1, 0))).next();
  assert.equal(empty?.payload.length, 0);
});

Deno.test("a custom maxFrameSize is honoured", async () => {
  const options: FrameReaderOptions = { maxFrameSize: 100 };
  const fits = await new FrameReader(new ChunkedSource(testFrame(1, 1, 95)), options).next();
  assert.equal(fits?.payload.length, 95);
  const source = new ChunkedSource(testFrame(1, 1, 96), 4);
  await assertRefused(new FrameReader(source, options), /101 exceeds the limit of 100/);
  assert.equal(source.consumed, 4);
});

Deno.test("a maxFrameSize above the internal buffer size still reads a frame that large", async () => {
  // The buffer is capped near 2 MiB; a larger limit must not leave a frame that can never fit
  // (a real Deno.Conn would be asked to read into an empty buffer forever).
  const maxFrameSize = 3 * 1024 * 1024;
  const bytes = testFrame(MESSAGE_TYPE.Data, 1, maxFrameSize - 5);
  const frame = await new FrameReader(new ChunkedSource(bytes, 1 << 20), { maxFrameSize }).next();
  assert.equal(frame?.payload.length, maxFrameSize - 5);
});

Deno.test("a long stream of small frames is read correctly across buffer compaction", async () => {
  // A small maxFrameSize keeps the buffer small, so the stream wraps it many times.
  const frames = Array.from({ length: 3000 }, (_, i) => testFrame(i % 256, i, (i * 13) % 96));
  const source = new ChunkedSource(concatBytes(...frames), 37);
  const read = await readAll(new FrameReader(source, { maxFrameSize: 100 }));
  assert.equal(read.length, frames.length);
  for (const [i, frame] of read.entries()) {
    assert.equal(frame.id, i);
    assert.deepEqual(frame.payload, frames[i].subarray(9));
  }
});

const SPEC_BY_TYPE = new Map<number, MessageSpec<unknown>>(
  (Object.values(Messages) as MessageSpec<unknown>[]).map((spec) => [spec.type, spec]),
);
const TYPES = [...Object.values(MESSAGE_TYPE), 0x00, 0x7f, 0xff];
const VALID_FRAMES = [
  testFrame(MESSAGE_TYPE.Data, 1, 3),
  ...Object.entries(SAMPLES).map(([name, values]) =>
    // The first sample of each message is small, so encoding it does not depend on buffer growth.
    encode(SPEC_BY_TYPE.get(MESSAGE_TYPE[name as keyof typeof MESSAGE_TYPE])!, 1, values[0])
  ),
];

/** Random input: pure noise, plausible headers with noise payloads, or mutated valid frames. */
function garbage(random: () => number): Uint8Array {
  const byte = () => Math.floor(random() * 256);
  const noise = (length: number) => Uint8Array.from({ length }, byte);
  const parts: Uint8Array[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    const mode = Math.floor(random() * 3);
    if (mode === 0) {
      parts.push(noise(Math.floor(random() * 40)));
    } else if (mode === 1) {
      const type = TYPES[Math.floor(random() * TYPES.length)];
      const length = Math.floor(random() * 80);
      parts.push(header(type, byte(), length), noise(length - Math.floor(random() * 3)));
    } else {
      const frame = VALID_FRAMES[Math.floor(random() * VALID_FRAMES.length)].slice();
      const flips = Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) frame[Math.floor(random() * frame.length)] = byte();
      parts.push(random() < 0.2 ? frame.subarray(0, Math.floor(random() * frame.length)) : frame);
    }
  }
  return concatBytes(...parts);
}

Deno.test("random input only ever yields frames or a ProtocolError", async () => {
  const random = mulberry32(0x5eed);
  let decoded = 0;
  let refused = 0;
  for (let iteration = 0; iteration < 2000; iteration++) {
    const input = garbage(random);
    const chunkSize = 1 + Math.floor(random() * 16);
    const maxFrameSize = random() < 0.5 ? 4096 : 64;
    const reader = new FrameReader(new ChunkedSource(input, chunkSize), { maxFrameSize });
    try {
      for (let guard = 0;; guard++) {
        assert.ok(guard <= input.length, `more frames than input bytes in iteration ${iteration}`);
        const frame = await reader.next();
        if (!frame) break;
        const spec = SPEC_BY_TYPE.get(frame.type);
        if (spec) {
          decode(spec, frame);
          decoded++;
        }
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        throw new Error(`iteration ${iteration}: ${error} for input ${[...input]}`);
      }
      refused++;
    }
  }
  assert.ok(decoded > 100, `only ${decoded} frames decoded`);
  assert.ok(refused > 100, `only ${refused} inputs refused`);
});
