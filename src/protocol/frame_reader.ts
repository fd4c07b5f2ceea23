/**
 * Splits a byte stream into frames. The length field is checked against the
 * limit before anything is buffered, so a peer cannot make us allocate more
 * than one maximum-size frame.
 *
 * @module
 */

import { FRAME_HEADER_SIZE, MAX_FRAME_SIZE } from "./constants.ts";
import type { Frame } from "./messages.ts";
import { ClosedMidFrame, ProtocolError } from "./protocol_error.ts";

/** Starting buffer size; it grows to fit the largest frame seen (at most the limit + 4). */
const INITIAL_BUFFER_SIZE = 64 * 1024;

/** Anything with `read` like `Deno.Conn`. */
export interface ByteSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * A TLS record header: content type 20–23, then version major 3 (minor 0–4).
 * As a frame length it would be over 335 MB, far above any frame limit, so
 * a DFOS frame never looks like this.
 */
function looksLikeTls(header: Uint8Array): boolean {
  return header[0] >= 0x14 && header[0] <= 0x17 && header[1] === 0x03 && header[2] <= 0x04;
}

/** Options of {@link FrameReader}. */
export interface FrameReaderOptions {
  /** Largest length field accepted. Default {@link MAX_FRAME_SIZE}. */
  maxFrameSize?: number;
}

/** Reads frames one at a time from a {@link ByteSource}. */
export class FrameReader {
  #source: ByteSource;
  #maxFrameSize: number;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;

  constructor(source: ByteSource, options: FrameReaderOptions = {}) {
    this.#source = source;
    this.#maxFrameSize = options.maxFrameSize ?? MAX_FRAME_SIZE;
    this.#buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  }

  /**
   * The next frame, or null when the stream ends cleanly between frames.
   * The payload is a view into an internal buffer, valid only until the
   * next call: copy it to keep it.
   */
  async next(): Promise<Frame | null> {
    if (!(await this.#fill(4))) return null;
    const view = new DataView(this.#buffer.buffer, this.#start, 4);
    const length = view.getUint32(0);
    if (looksLikeTls(this.#buffer.subarray(this.#start, this.#start + 3))) {
      throw new ProtocolError("the peer speaks TLS: got a TLS record where a DFOS frame belongs");
    }
    if (length < FRAME_HEADER_SIZE - 4) {
      throw new ProtocolError(`frame length ${length} is shorter than a frame header`);
    }
    if (length > this.#maxFrameSize) {
      throw new ProtocolError(`frame length ${length} exceeds the limit of ${this.#maxFrameSize}`);
    }
    if (!(await this.#fill(4 + length))) {
      throw new ClosedMidFrame();
    }
    const at = this.#start;
    this.#start += 4 + length;
    const header = new DataView(this.#buffer.buffer, at + 4, 5);
    return {
      type: header.getUint8(0),
      id: header.getUint32(1),
      payload: this.#buffer.subarray(at + FRAME_HEADER_SIZE, at + 4 + length),
    };
  }

  /** Whether the next frame is already buffered whole, so {@link next} will not wait for the peer. */
  get hasBufferedFrame(): boolean {
    const available = this.#end - this.#start;
    if (available < 4) return false;
    return available >= 4 + new DataView(this.#buffer.buffer, this.#start, 4).getUint32(0);
  }

  /** Ensures `count` buffered bytes; false on end of stream before the first byte. */
  async #fill(count: number): Promise<boolean> {
    if (this.#end - this.#start >= count) return true;
    if (count > this.#buffer.length) {
      // Grow, keeping some read-ahead room; `count` is already bounded by the frame limit.
      const grown = new Uint8Array(count + INITIAL_BUFFER_SIZE);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
      this.#end -= this.#start;
      this.#start = 0;
    } else if (this.#start + count > this.#buffer.length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end - this.#start < count) {
      const read = await this.#source.read(this.#buffer.subarray(this.#end));
      if (read === null) {
        if (this.#end === this.#start) return false;
        throw new ClosedMidFrame();
      }
      this.#end += read;
    }
    return true;
  }
}
