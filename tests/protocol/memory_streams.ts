/**
 * In-memory byte sources and helpers shared by the protocol tests.
 *
 * @module
 */

import type { ByteSource } from "../../src/protocol/frame_reader.ts";
import type { Frame } from "../../src/protocol/messages.ts";
import { concatBytes, Mulberry32 } from "../helpers/random.ts";

export { concatBytes };

/**
 * Hands out `data` at most `chunkSize` bytes per read, then ends. Counts
 * reads and consumed bytes so tests can see how far a reader went.
 */
export class ChunkedSource implements ByteSource {
  #data: Uint8Array;
  #chunkSize: number;
  /** Bytes handed out so far. */
  consumed = 0;
  /** Calls to `read`, including the one that reported the end. */
  reads = 0;

  constructor(data: Uint8Array, chunkSize = Infinity) {
    this.#data = data;
    this.#chunkSize = chunkSize;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    this.reads++;
    if (buffer.length === 0) {
      return Promise.reject(new Error("read was called with an empty buffer"));
    }
    if (this.consumed >= this.#data.length) return Promise.resolve(null);
    const count = Math.min(this.#chunkSize, buffer.length, this.#data.length - this.consumed);
    buffer.set(this.#data.subarray(this.consumed, this.consumed + count));
    this.consumed += count;
    return Promise.resolve(count);
  }
}

/** Splits one complete encoded frame into the {@link Frame} a reader would return. */
export function frameOf(bytes: Uint8Array): Frame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type: view.getUint8(4), id: view.getUint32(5), payload: bytes.subarray(9) };
}

/** A frame header (length field, type, id) for a payload of `payloadLength` bytes. */
export function header(type: number, id: number, payloadLength: number): Uint8Array {
  const bytes = new Uint8Array(9);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payloadLength + 5);
  view.setUint8(4, type);
  view.setUint32(5, id);
  return bytes;
}

/** A raw length field, for frames whose length is the point of the test. */
export function lengthField(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length);
  return bytes;
}

/** Deterministic PRNG (mulberry32) as floats in [0, 1), so random tests are repeatable. */
export function mulberry32(seed: number): () => number {
  const generator = new Mulberry32(seed);
  return () => generator.next() / 4294967296;
}
