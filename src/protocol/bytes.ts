/**
 * One growable byte writer that fills in the frame header in one place, and
 * one bounds-checked reader. Integers are big-endian; u64 values are carried
 * as JavaScript numbers and must be safe integers (< 2^53).
 *
 * @module
 */

import { FRAME_HEADER_SIZE } from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Builds one frame: header first (length filled in by {@link ByteWriter.finish}), then fields. */
export class ByteWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = FRAME_HEADER_SIZE;

  constructor(type: number, id: number, capacity = 256) {
    this.#buffer = new Uint8Array(Math.max(capacity, FRAME_HEADER_SIZE));
    this.#view = new DataView(this.#buffer.buffer);
    this.#view.setUint8(4, type);
    this.#view.setUint32(5, id);
  }

  /** Makes room for `bytes` more bytes and returns where they go. May replace the buffer. */
  #reserve(bytes: number): number {
    const at = this.#length;
    const needed = at + bytes;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, at));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return at;
  }

  u8(value: number): this {
    const at = this.#reserve(1);
    this.#view.setUint8(at, value);
    return this;
  }

  u16(value: number): this {
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
    return this;
  }

  u32(value: number): this {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value);
    return this;
  }

  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`cannot encode ${value} as u64: not a safe non-negative integer`);
    }
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, BigInt(value));
    return this;
  }

  bytes(value: Uint8Array): this {
    const at = this.#reserve(value.length); // May replace #buffer: reserve first.
    this.#buffer.set(value, at);
    return this;
  }

  /** A u16 length followed by UTF-8 bytes; refuses strings longer than `maxBytes`. */
  string(value: string, maxBytes: number): this {
    const encoded = encoder.encode(value);
    if (encoded.length > maxBytes) {
      throw new RangeError(`string of ${encoded.length} bytes exceeds the limit of ${maxBytes}`);
    }
    return this.u16(encoded.length).bytes(encoded);
  }

  /** Writes the length field and returns the complete frame. */
  finish(): Uint8Array {
    this.#view.setUint32(0, this.#length - 4);
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Reads fields from one payload; any read past its end is a {@link ProtocolError}. */
export class ByteReader {
  #bytes: Uint8Array;
  #view: DataView;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  #take(count: number, what: string): number {
    if (this.remaining < count) {
      throw new ProtocolError(
        `truncated message: ${what} needs ${count} bytes, ${this.remaining} left`,
      );
    }
    const at = this.#offset;
    this.#offset += count;
    return at;
  }

  u8(): number {
    return this.#view.getUint8(this.#take(1, "u8"));
  }

  u16(): number {
    return this.#view.getUint16(this.#take(2, "u16"));
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4, "u32"));
  }

  u64(): number {
    const value = this.#view.getBigUint64(this.#take(8, "u64"));
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProtocolError(`u64 value ${value} is larger than this implementation supports`);
    }
    return Number(value);
  }

  /** A view (not a copy) of the next `count` bytes. */
  bytes(count: number): Uint8Array {
    const at = this.#take(count, "byte field");
    return this.#bytes.subarray(at, at + count);
  }

  string(maxBytes: number): string {
    const length = this.u16();
    if (length > maxBytes) {
      throw new ProtocolError(`string of ${length} bytes exceeds the limit of ${maxBytes}`);
    }
    try {
      return decoder.decode(this.bytes(length));
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError("string is not valid UTF-8");
    }
  }

  /** Rule: a message is consumed exactly; trailing bytes are an error. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(`${what} has ${this.remaining} unexpected trailing bytes`);
    }
  }
}
