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
