import assert from "node:assert/strict";
import { ByteWriter } from "../../src/protocol/bytes.ts";
import {
  FRAME_HEADER_SIZE,
  MAX_BATCH_FILES,
  MAX_CREDENTIAL_BYTES,
  MAX_PATH_BYTES,
  MAX_WHOLE_FILE_SIZE,
  MESSAGE_TYPE,
} from "../../src/protocol/constants.ts";
import { FrameReader } from "../../src/protocol/frame_reader.ts";
import {
  batchContents,
  decode,
  encode,
  entryMessages,
  type Frame,
  messageName,
  Messages,
  type MessageSpec,
  MessagesWithModes,
  type WireEntry,
  writeDataHeader,
} from "../../src/protocol/messages.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";
import { ChunkedSource, concatBytes, frameOf } from "./memory_streams.ts";
import { MAX_U64, SAMPLES } from "./message_samples.ts";

type AnySpec = MessageSpec<unknown>;
const SPECS = Object.values(Messages) as AnySpec[];

function samplesOf(spec: AnySpec): unknown[] {
  return (SAMPLES as Record<string, unknown[]>)[spec.name];
}

function assertProtocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A frame of `spec`'s type whose payload is written field by field. */
function rawFrame(spec: AnySpec, build: (writer: ByteWriter) => void): Frame {
  // Capacity up front: these tests are about decode, not about the writer growing.
  const writer = new ByteWriter(spec.type, 1, 8192);
  build(writer);
  return frameOf(writer.finish());
}

Deno.test("every message in the table has samples and a distinct type byte", () => {
  const types = new Set(SPECS.map((spec) => spec.type));
  assert.equal(types.size, SPECS.length);
  for (const spec of SPECS) {
    assert.equal(spec.type, MESSAGE_TYPE[spec.name], spec.name);
    assert.ok(samplesOf(spec).length > 0, `no samples for ${spec.name}`);
  }
});

Deno.test("every message round-trips through encode and decode", () => {
  const failures: string[] = [];
  for (const spec of SPECS) {
    for (const [index, value] of samplesOf(spec).entries()) {
      const id = index === 0 ? 0 : 0xffffffff - index;
      try {
        const frame = frameOf(encode(spec, id, value));
        assert.equal(frame.type, spec.type);
        assert.equal(frame.id, id);
        assert.deepEqual(decode(spec, frame), value);
      } catch (error) {
        failures.push(`${spec.name} sample ${index}: ${error}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("a frame longer than the writer's initial 256-byte buffer is encoded whole", () => {
  // 9 header + 2 length + 246 path bytes = 257 bytes: one past the initial capacity.
  for (const length of [245, 246, 1000, MAX_PATH_BYTES]) {
    const path = "a".repeat(length);
    const bytes = encode(Messages.List, 3, { path });
    assert.equal(bytes.length, FRAME_HEADER_SIZE + 2 + length);
    assert.deepEqual(decode(Messages.List, frameOf(bytes)), { path });
  }
});

Deno.test("encode writes the length field, type byte and request id in the header", () => {
  const bytes = encode(Messages.Queued, 0x01020304, { position: 2, waiting: 5 });
  assert.equal(bytes.length, FRAME_HEADER_SIZE + 8);
  assert.deepEqual(
    [...bytes],
    [0, 0, 0, 13, MESSAGE_TYPE.Queued, 1, 2, 3, 4, 0, 0, 0, 2, 0, 0, 0, 5],
  );
  const empty = encode(Messages.Ok, 9, {});
  assert.deepEqual([...empty], [0, 0, 0, 5, MESSAGE_TYPE.Ok, 0, 0, 0, 9]);
});

Deno.test("strings are a u16 byte length followed by UTF-8", () => {
  const frame = frameOf(encode(Messages.List, 1, { path: "é/😀" }));
  assert.deepEqual([...frame.payload], [0, 7, 0xc3, 0xa9, 0x2f, 0xf0, 0x9f, 0x98, 0x80]);
});

Deno.test("decode refuses a frame of another type, naming both", () => {
  const cancel = frameOf(encode(Messages.Cancel, 1, {}));
  assertProtocolError(() => decode(Messages.Ok, cancel), /expected Ok, got Cancel/);
  assertProtocolError(
    () => decode(Messages.Ok, { type: 0x7f, id: 1, payload: new Uint8Array() }),
    /expected Ok, got unknown type 0x7f/,
  );
});

Deno.test("decode refuses a payload truncated at every byte position", () => {
  const cases: [AnySpec, unknown][] = [
    [Messages.Hello, SAMPLES.Hello[0]],
    [Messages.Hello, { ...SAMPLES.Hello[0], capabilities: ["a", "bc"] }],
    [Messages.Welcome, SAMPLES.Welcome[0]],
    [Messages.Auth, SAMPLES.Auth[3]],
    [Messages.Rename, SAMPLES.Rename[0]],
    [Messages.Read, SAMPLES.Read[1]],
    [Messages.Write, SAMPLES.Write[0]],
    [Messages.DataEnd, SAMPLES.DataEnd[0]],
    [Messages.Listing, { entries: SAMPLES.Listing[1].entries.slice(0, 4), more: true }],
    [Messages.Attributes, SAMPLES.Attributes[1]],
  ];
  for (const [spec, value] of cases) {
    const { type, id, payload } = frameOf(encode(spec, 1, value));
    for (let cut = 0; cut < payload.length; cut++) {
      assertProtocolError(
        () => decode(spec, { type, id, payload: payload.subarray(0, cut) }),
        /truncated/,
      );
    }
  }
});

Deno.test("decode refuses trailing bytes after the last field", () => {
  for (const spec of SPECS) {
    const { type, id, payload } = frameOf(encode(spec, 1, samplesOf(spec)[0]));
    const padded = concatBytes(payload, new Uint8Array([0]));
    assertProtocolError(
      () => decode(spec, { type, id, payload: padded }),
      new RegExp(`${spec.name} has 1 unexpected trailing bytes`),
    );
  }
});

Deno.test("decode refuses a string longer than its field limit before reading it", () => {
  const tooLong = MAX_CREDENTIAL_BYTES + 1;
  const auth = rawFrame(Messages.Auth, (w) => w.u16(tooLong).bytes(new Uint8Array(tooLong)));
  assertProtocolError(() => decode(Messages.Auth, auth), /1025 bytes exceeds the limit of 1024/);
  // The length alone is enough: the bytes it announces need not be there.
  const list = rawFrame(Messages.List, (w) => w.u16(MAX_PATH_BYTES + 1));
  assertProtocolError(() => decode(Messages.List, list), /exceeds the limit of 4096/);
  const capability = rawFrame(Messages.Hello, (w) => {
    w.u32(0).u16(1).string("", 10).u32(1).string("c".repeat(65), 100);
  });
  assertProtocolError(() => decode(Messages.Hello, capability), /65 bytes exceeds the limit of 64/);
});

Deno.test("decode refuses a string that is not valid UTF-8", () => {
  const invalid = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x61, 0x80]];
  for (const bytes of invalid) {
    const frame = rawFrame(Messages.List, (w) => w.u16(bytes.length).bytes(new Uint8Array(bytes)));
    assertProtocolError(() => decode(Messages.List, frame), /not valid UTF-8/);
  }
});

Deno.test("decode refuses a boolean byte other than 0 or 1", () => {
  for (const value of [2, 0xff]) {
    const frame = rawFrame(Messages.Mkdir, (w) => w.string("a", 10).u8(value));
    assertProtocolError(
      () => decode(Messages.Mkdir, frame),
      new RegExp(`boolean field holds ${value}`),
    );
  }
});

Deno.test("decode refuses an unknown entry kind", () => {
  for (const kind of [0, 5, 0xff]) {
    const frame = rawFrame(Messages.Attributes, (w) => {
      w.string("/a", 10).string("a", 10).u8(kind).u64(1).u64(2);
    });
    assertProtocolError(() => decode(Messages.Attributes, frame), new RegExp(`entry kind ${kind}`));
  }
});

Deno.test("decode refuses a u64 above Number.MAX_SAFE_INTEGER", () => {
  for (const big of [2n ** 53n, 2n ** 64n - 1n]) {
    const frame = rawFrame(Messages.WriteReady, (w) => {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, big);
      w.bytes(bytes);
    });
    assertProtocolError(
      () => decode(Messages.WriteReady, frame),
      /larger than this implementation/,
    );
  }
  const exact = rawFrame(Messages.WriteReady, (w) => w.u64(MAX_U64));
  assert.deepEqual(decode(Messages.WriteReady, exact), { offset: MAX_U64 });
});

Deno.test("decode refuses a list count over its limit without reading the items", () => {
  const listing = rawFrame(Messages.Listing, (w) => w.u32(4097));
  assertProtocolError(() => decode(Messages.Listing, listing), /4097 items exceeds 4096/);
  const huge = rawFrame(Messages.Listing, (w) => w.u32(0xffffffff));
  assertProtocolError(() => decode(Messages.Listing, huge), /exceeds 4096/);
  const hello = rawFrame(Messages.Hello, (w) => w.u32(0).u16(1).string("", 10).u32(65));
  assertProtocolError(() => decode(Messages.Hello, hello), /65 items exceeds 64/);
});

Deno.test("a WriteFile's content is a u32 count, refused over the whole-file limit before reading", () => {
  const tooBig = rawFrame(Messages.WriteFile, (w) => {
    w.string("f", 10).u64(0).u8(0).bytes(new Uint8Array(32)).u32(MAX_WHOLE_FILE_SIZE + 1);
  });
  assertProtocolError(
    () => decode(Messages.WriteFile, tooBig),
    new RegExp(`${MAX_WHOLE_FILE_SIZE + 1} bytes exceeds the limit of ${MAX_WHOLE_FILE_SIZE}`),
  );
  const content = new Uint8Array([1, 2, 3]);
  const frame = frameOf(encode(Messages.WriteFile, 7, {
    path: "f",
    mtimeMs: 5,
    overwrite: true,
    sha256: new Uint8Array(32),
    content,
  }));
  assert.deepEqual(frame.payload.subarray(-7), Uint8Array.of(0, 0, 0, 3, 1, 2, 3));
  assert.throws(
    () =>
      encode(Messages.WriteFile, 1, {
        path: "f",
        mtimeMs: 0,
        overwrite: false,
        sha256: new Uint8Array(32),
        content: new Uint8Array(MAX_WHOLE_FILE_SIZE + 1),
      }),
    RangeError,
  );
});

Deno.test("encode refuses a string over its limit, counting UTF-8 bytes", () => {
  const cases: [string, () => unknown][] = [
    ["1025", () => encode(Messages.Auth, 1, { user: "u".repeat(1025), password: "p" })],
    // 513 characters, 1026 bytes.
    ["1026", () => encode(Messages.Auth, 1, { user: "u", password: "é".repeat(513) })],
    ["4097", () => encode(Messages.List, 1, { path: "a".repeat(MAX_PATH_BYTES + 1) })],
    ["65", () => encode(Messages.AuthOk, 1, { sessionId: "s".repeat(65), cwd: "/" })],
  ];
  for (const [size, fn] of cases) {
    assert.throws(fn, (error) => {
      assert.ok(error instanceof RangeError, `not a RangeError: ${error}`);
      assert.match(error.message, new RegExp(`string of ${size} bytes exceeds the limit`));
      return true;
    });
  }
});

Deno.test("encode refuses a negative, fractional or unsafe u64", () => {
  for (const offset of [-1, 1.5, 2 ** 53, Number.NaN, Infinity]) {
    assert.throws(
      () => encode(Messages.WriteReady, 1, { offset }),
      (error) => error instanceof RangeError && /cannot encode .* as u64/.test(error.message),
      String(offset),
    );
  }
});

Deno.test("encode refuses an overlong list and a digest that is not 32 bytes", () => {
  const capabilities = Array.from({ length: 65 }, () => "c");
  assert.throws(
    () => encode(Messages.Hello, 1, { magic: 0, version: 1, software: "", capabilities }),
    RangeError,
  );
  for (const length of [0, 31, 33]) {
    assert.throws(
      () => encode(Messages.DataEnd, 1, { sha256: new Uint8Array(length) }),
      RangeError,
    );
  }
});

Deno.test("messageName names known type bytes and marks unknown ones in hex", () => {
  assert.equal(messageName(MESSAGE_TYPE.Hello), "Hello");
  assert.equal(messageName(MESSAGE_TYPE.Data), "Data");
  assert.equal(messageName(MESSAGE_TYPE.WriteReady), "WriteReady");
  assert.equal(messageName(0x0a), "unknown type 0x0a");
  assert.equal(messageName(0xff), "unknown type 0xff");
});

Deno.test("writeDataHeader frames a payload in place and FrameReader reads it back", async () => {
  const payload = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  // A larger buffer at an offset into its ArrayBuffer, as a chunk pool would hand out.
  const pool = new Uint8Array(4096).fill(0xee);
  const buffer = pool.subarray(100);
  buffer.set(payload, FRAME_HEADER_SIZE);
  const frame = writeDataHeader(buffer, 0xabcdef01, payload.length);
  assert.equal(frame.buffer, pool.buffer, "the frame is a view, not a copy");
  assert.equal(frame.byteOffset, 100);
  assert.equal(frame.length, FRAME_HEADER_SIZE + payload.length);
  assert.equal(pool[99], 0xee, "bytes before the frame are untouched");

  const empty = writeDataHeader(new Uint8Array(FRAME_HEADER_SIZE), 2, 0);
  const reader = new FrameReader(new ChunkedSource(concatBytes(frame, empty), 13));
  const first = await reader.next();
  assert.ok(first);
  assert.equal(first.type, MESSAGE_TYPE.Data);
  assert.equal(first.id, 0xabcdef01);
  assert.deepEqual(first.payload, payload);
  const second = await reader.next();
  assert.ok(second);
  assert.deepEqual([second.type, second.id, second.payload.length], [MESSAGE_TYPE.Data, 2, 0]);
  assert.equal(await reader.next(), null);
});

Deno.test("with the mode capability, every Listing and Attributes entry ends with its mode (u16)", () => {
  const entries: WireEntry[] = [
    { name: "run.sh", kind: "file", size: 10, mtimeMs: 1_700_000_000_000, mode: 0o755 },
    { name: "docs", kind: "directory", size: 0, mtimeMs: 1, mode: 0o700 },
    { name: "odd", kind: "other", size: 0, mtimeMs: 0, mode: 0 },
  ];
  const listing = frameOf(encode(MessagesWithModes.Listing, 7, { entries, more: true }));
  assert.deepEqual(decode(MessagesWithModes.Listing, listing), { entries, more: true });
  const attributes = frameOf(
    encode(MessagesWithModes.Attributes, 8, { path: "/run.sh", entry: entries[0] }),
  );
  assert.deepEqual([...attributes.payload.subarray(-2)], [0x01, 0xed], "0o755 closes the entry");
  assert.equal(attributes.type, MESSAGE_TYPE.Attributes, "the same message, the same type byte");

  const plain = frameOf(encode(Messages.Attributes, 8, { path: "/run.sh", entry: entries[0] }));
  assert.equal(plain.payload.length, attributes.payload.length - 2, "no mode without it");
  const { mode: _mode, ...withoutMode } = entries[0];
  assert.deepEqual(decode(Messages.Attributes, plain).entry, withoutMode);
  assertProtocolError(() => decode(Messages.Attributes, attributes), /2 unexpected trailing bytes/);
  assert.equal(entryMessages(true), MessagesWithModes);
  assert.equal(entryMessages(false).Listing, Messages.Listing);
});

Deno.test("decode refuses a digest that is neither empty nor 32 bytes, and a condition state, change op or change kind it does not know", () => {
  const condition = (state: number, digestBytes: number) =>
    rawFrame(Messages.RemoveIf, (w) => {
      w.string("/a", MAX_PATH_BYTES).u8(state).u32(digestBytes).bytes(new Uint8Array(digestBytes));
    });
  assert.deepEqual(decode(Messages.RemoveIf, condition(1, 32)).expected.state, "file");
  assert.deepEqual(decode(Messages.RemoveIf, condition(0, 0)).expected.state, "absent");
  assertProtocolError(() => decode(Messages.RemoveIf, condition(1, 16)), /a digest of 16 bytes/);
  assertProtocolError(
    () => decode(Messages.RemoveIf, condition(3, 0)),
    /unknown condition state 3/,
  );
  const change = (op: number, kind: number) =>
    rawFrame(Messages.ChangeList, (w) => {
      w.u32(1).u64(1).u8(op).string("/a", MAX_PATH_BYTES).string("", MAX_PATH_BYTES).u8(kind);
      w.u64(0).u64(0).u32(0).u8(0).u64(1);
    });
  assert.equal(decode(Messages.ChangeList, change(3, 0)).changes[0].op, "delete");
  assertProtocolError(
    () => decode(Messages.ChangeList, change(9, 0)),
    /unknown change operation 9/,
  );
  assertProtocolError(() => decode(Messages.ChangeList, change(1, 3)), /unknown change kind 3/);
});

Deno.test("the files of a WriteFiles are views into its content, in order; sizes that do not add up, or a file over the whole-file limit, are a broken frame", () => {
  const digest = new Uint8Array(32);
  const file = (path: string, size: number) => ({ path, mtimeMs: 0, size, sha256: digest });
  const request = decode(
    Messages.WriteFiles,
    frameOf(encode(Messages.WriteFiles, 3, {
      overwrite: false,
      files: [file("a", 2), file("empty", 0), file("b", 3)],
      content: Uint8Array.of(1, 2, 3, 4, 5),
    })),
  );
  assert.deepEqual(batchContents(request).map((bytes) => [...bytes]), [[1, 2], [], [3, 4, 5]]);
  const content = new Uint8Array(4);
  assertProtocolError(
    () => batchContents({ files: [file("a", 2), file("b", 1)], content }),
    /announces 3 bytes of files but carries 4/,
  );
  assertProtocolError(
    () => batchContents({ files: [file("a", 5)], content }),
    /announces 5 bytes of files but carries 4/,
  );
  const big = new Uint8Array(MAX_WHOLE_FILE_SIZE + 1);
  assertProtocolError(
    () => batchContents({ files: [file("big", big.length)], content: big }),
    /exceeds 262144/,
  );
  const tooMany = Array.from({ length: MAX_BATCH_FILES + 1 }, (_, i) => file(`f${i}`, 0));
  const frame = rawFrame(Messages.WriteFiles, (w) => {
    w.u8(0).u32(tooMany.length);
    for (const entry of tooMany) {
      w.string(entry.path, MAX_PATH_BYTES).u64(0).u32(0).bytes(digest);
    }
    w.u32(0);
  });
  assertProtocolError(() => decode(Messages.WriteFiles, frame), /list of 257 items exceeds 256/);
});
