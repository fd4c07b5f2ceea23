import assert from "node:assert/strict";
import zlib from "node:zlib";
import { ChunkCompressor, decompressChunk } from "../../src/protocol/compression.ts";
import { MAX_CHUNK_SIZE } from "../../src/protocol/constants.ts";
import { ProtocolError } from "../../src/protocol/protocol_error.ts";

Deno.test("a compressible chunk is compressed and inflates back exactly", () => {
  const chunk = new TextEncoder().encode("the same line again\n".repeat(10_000));
  const compressed = new ChunkCompressor().compress(chunk)!;
  assert.ok(compressed.length < chunk.length / 10);
  assert.deepEqual(new Uint8Array(decompressChunk(compressed)), chunk);
});

Deno.test("after a chunk that does not shrink, the compressor pauses, doubling the pause", () => {
  const tried: number[] = [];
  let call = 0;
  const compressor = new ChunkCompressor((chunk) => {
    tried.push(call);
    return chunk; // Never smaller: as for random data.
  });
  for (call = 0; call < 20; call++) {
    assert.equal(compressor.compress(new Uint8Array(100)), undefined);
  }
  assert.deepEqual(tried, [0, 5, 14], "tried, then 4 skipped, then 8 skipped");
});

Deno.test("a chunk that shrinks resets the pause", () => {
  let shrink = false;
  let calls = 0;
  const compressor = new ChunkCompressor((
    chunk,
  ) => (calls++, shrink ? chunk.subarray(0, 10) : chunk));
  compressor.compress(new Uint8Array(100)); // Miss: skip 4.
  for (let index = 0; index < 4; index++) compressor.compress(new Uint8Array(100));
  shrink = true;
  assert.ok(compressor.compress(new Uint8Array(100)));
  assert.ok(compressor.compress(new Uint8Array(100)), "no pause after a hit");
  assert.equal(calls, 3);
});

Deno.test("a payload that inflates past one chunk is a protocol error (no decompression bombs)", () => {
  const bomb = zlib.zstdCompressSync(new Uint8Array(MAX_CHUNK_SIZE + 1));
  assert.throws(() => decompressChunk(bomb), ProtocolError);
  assert.throws(() => decompressChunk(new Uint8Array([1, 2, 3, 4])), ProtocolError);
});

/** zstd of 100 distinct bytes: stored as one raw block of 100 bytes. */
const RAW_BLOCK_FRAME = zlib.zstdCompressSync(Uint8Array.from({ length: 100 }, (_, i) => i * 7));

Deno.test("a zstd frame cut short is a protocol error, though zstd inflates what is there", () => {
  assert.equal(RAW_BLOCK_FRAME.length, 109, "header 6, block header 3, raw block 100");
  assert.equal(zlib.zstdDecompressSync(RAW_BLOCK_FRAME.subarray(0, 10)).length, 1);
  for (const cut of [3, 5, 6, 8, 10, 60, 108]) {
    assert.throws(
      () => decompressChunk(RAW_BLOCK_FRAME.subarray(0, cut)),
      (error: Error) =>
        error instanceof ProtocolError && /not one complete zstd frame/.test(error.message),
      `cut at ${cut}`,
    );
  }
  assert.throws(
    () => decompressChunk(RAW_BLOCK_FRAME.subarray(0, 10)),
    /declares 100 bytes, 1 follow/,
  );
});

Deno.test("bytes after the frame, a second frame or a missing checksum are protocol errors", () => {
  const two = new Uint8Array([...RAW_BLOCK_FRAME, ...RAW_BLOCK_FRAME]);
  assert.throws(() => decompressChunk(two), /109 bytes follow the frame/);
  assert.throws(() => decompressChunk(new Uint8Array([...RAW_BLOCK_FRAME, 0])), /1 bytes follow/);
  const checked = zlib.zstdCompressSync(new Uint8Array(5000).fill(7), {
    params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
  });
  assert.equal(decompressChunk(checked).length, 5000);
  assert.throws(() => decompressChunk(checked.subarray(0, -2)), /inside its checksum/);
});

Deno.test("complete frames of every shape the compressor makes inflate", () => {
  const shapes = [
    new Uint8Array(0),
    new Uint8Array(1),
    new Uint8Array(MAX_CHUNK_SIZE).fill(0x61), // RLE blocks
    Uint8Array.from({ length: MAX_CHUNK_SIZE }, (_, i) => (i * 2654435761) >>> 24), // several blocks
    new TextEncoder().encode("some text, some text, some more text\n".repeat(5000)),
  ];
  for (const chunk of shapes) {
    for (const level of [1, 19]) {
      const frame = zlib.zstdCompressSync(chunk, {
        params: { [zlib.constants.ZSTD_c_compressionLevel]: level },
      });
      assert.deepEqual(
        new Uint8Array(decompressChunk(frame)),
        chunk,
        `${chunk.length} at ${level}`,
      );
    }
  }
  // Single-segment, with a 1-byte content size (5), one raw block of 5 bytes: as other encoders write.
  const handMade = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, 0x29, 0, 0, 1, 2, 3, 4, 5);
  assert.deepEqual(new Uint8Array(decompressChunk(handMade)), Uint8Array.of(1, 2, 3, 4, 5));
  assert.throws(() => decompressChunk(handMade.subarray(0, -1)), /declares 5 bytes, 4 follow/);
});
