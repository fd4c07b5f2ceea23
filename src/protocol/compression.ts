/**
 * Optional zstd compression of transfer chunks (PROTOCOL.md §5.7). A sender
 * compresses each chunk on its own and sends it as `DataZstd` only when that
 * makes it smaller; after a chunk that did not shrink it stops trying for a
 * while (doubling the pause), so incompressible files cost almost nothing.
 *
 * @module
 */

import process from "node:process";
import { FRAME_HEADER_SIZE, MAX_CHUNK_SIZE, MESSAGE_TYPE } from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";
import { writeDataHeader } from "./messages.ts";
import { frameProblem } from "./zstd_frame.ts";

/** The capability both ends list to use compression. */
export const ZSTD_CAPABILITY = "zstd";

/** A chunk must shrink to at most this share of its size to be sent compressed. */
const WORTHWHILE_RATIO = 0.9;
/** Chunks skipped after the first miss; doubles up to {@link MAX_BACKOFF}. */
const FIRST_BACKOFF = 4;
const MAX_BACKOFF = 256;
/** zstd level: fast, since the link is usually faster than strong compression. */
const LEVEL = 1;

/**
 * node:zlib, loaded on first use: it takes about 15 ms to load, which every
 * client command would pay, and only transfers that compress need it.
 */
function zlib(): typeof import("node:zlib") {
  return loadedZlib ??= process.getBuiltinModule("node:zlib") as typeof import("node:zlib");
}
let loadedZlib: typeof import("node:zlib") | undefined;

/** Compresses one chunk. */
export type CompressFunction = (chunk: Uint8Array) => Uint8Array;

/** zstd at {@link LEVEL}. */
export function zstdCompress(chunk: Uint8Array): Uint8Array {
  return zlib().zstdCompressSync(chunk, {
    params: { [zlib().constants.ZSTD_c_compressionLevel]: LEVEL },
  });
}

/** Decides chunk by chunk whether to compress. One per transfer. */
export class ChunkCompressor {
  #skip = 0;
  #backoff = FIRST_BACKOFF;
  #compress: CompressFunction;

  constructor(compress: CompressFunction = zstdCompress) {
    this.#compress = compress;
  }

  /** The compressed chunk, or undefined to send it as it is. */
  compress(chunk: Uint8Array): Uint8Array | undefined {
    if (this.#skip > 0) {
      this.#skip--;
      return undefined;
    }
    const compressed = this.#compress(chunk);
    if (compressed.length <= chunk.length * WORTHWHILE_RATIO) {
      this.#backoff = FIRST_BACKOFF;
      return compressed;
    }
    this.#skip = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF);
    return undefined;
  }
}

/**
 * Inflates a `DataZstd` payload. Anything but one complete zstd frame, or
 * more than one chunk's worth of bytes (no bombs), is a protocol error.
 */
export function decompressChunk(payload: Uint8Array): Uint8Array {
  const problem = frameProblem(payload);
  if (problem) {
    throw new ProtocolError(`DataZstd payload is not one complete zstd frame: ${problem}`);
  }
  try {
    return zlib().zstdDecompressSync(payload, { maxOutputLength: MAX_CHUNK_SIZE });
  } catch (error) {
    throw new ProtocolError(
      `DataZstd payload does not inflate to a chunk: ${(error as Error).message}`,
    );
  }
}

/** A complete `DataZstd` frame for request `id`. */
export function encodeDataZstd(id: number, compressed: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_SIZE + compressed.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, frame.length - 4);
  view.setUint8(4, MESSAGE_TYPE.DataZstd);
  view.setUint32(5, id);
  frame.set(compressed, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Frames the chunk in `buffer` (payload after the header, `length` bytes):
 * as `DataZstd` when a compressor is given and compressing pays, otherwise
 * as `Data` in place, without copying.
 */
export function frameChunk(
  buffer: Uint8Array,
  id: number,
  length: number,
  compressor?: ChunkCompressor,
): Uint8Array {
  const compressed = compressor?.compress(
    buffer.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length),
  );
  return compressed ? encodeDataZstd(id, compressed) : writeDataHeader(buffer, id, length);
}
