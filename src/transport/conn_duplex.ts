/**
 * A `Deno.Conn` seen as a node stream, so that node:tls can run a server-side
 * TLS handshake over a TCP connection the server accepted itself. Deno's own
 * TLS listener cannot be used for that: a connection whose peer never
 * finishes the handshake stays open, whatever `close()` is called on it,
 * until the peer leaves (its handshake task keeps the socket). Here the
 * socket stays ours, and destroying the stream closes it at once.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { writeAll } from "../protocol/frame_writer.ts";
import { WriteBehind } from "./write_behind.ts";

/**
 * Bytes asked of the socket in one read: twice what the last read brought,
 * within these bounds, so an idle connection waits with a small buffer and a
 * bulk transfer reads in large ones.
 */
const MIN_READ_BYTES = 16 * 1024;
const MAX_READ_BYTES = 64 * 1024;

/** Bytes written ahead of the socket, in the background. */
const WRITE_BEHIND_BYTES = 256 * 1024;
/** How long the last bytes ({@link ConnDuplex.farewell}) may take to go out, ms. */
const FAREWELL_WRITE_MS = 1_000;

/** Wraps `conn`; destroying the duplex closes `conn`. */
export class ConnDuplex extends Duplex {
  #conn: Deno.Conn;
  #output: WriteBehind;
  #reading = false;
  #held = false;
  #readSize = MIN_READ_BYTES;
  #spare: Uint8Array | undefined;
  /** Bytes written to the socket just before it is closed, if any (a TLS alert, say). */
  farewell: Uint8Array | undefined;

  constructor(conn: Deno.Conn) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.#output = new WriteBehind(conn, WRITE_BEHIND_BYTES);
  }

  override _read(): void {
    if (this.#reading || this.#held) return;
    this.#reading = true;
    this.#pump();
  }

  /**
   * Stops reading the socket until {@link release}: the reader downstream has
   * enough. (Pausing the TLS socket does not reach this stream, so without it
   * a peer sending faster than the server consumes would fill memory.)
   */
  hold(): void {
    this.#held = true;
  }

  /** Reads the socket again after {@link hold}. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this._read();
  }

  /** A buffer for the next read: the last one again when it is free and big enough. */
  #readBuffer(): Uint8Array {
    const spare = this.#spare;
    this.#spare = undefined;
    return spare && spare.length >= this.#readSize ? spare : new Uint8Array(this.#readSize);
  }

  /** Reads until the consumer has enough buffered, the peer ends, or reading fails. */
  async #pump(): Promise<void> {
    try {
      while (!this.#held) {
        const chunk = this.#readBuffer();
        const count = await this.#conn.read(chunk);
        if (count === null) {
          this.push(null);
          return;
        }
        this.#readSize = Math.min(MAX_READ_BYTES, Math.max(MIN_READ_BYTES, 2 * count));
        const more = this.push(chunk.subarray(0, count));
        // Flowing, the TLS layer has copied the bytes by now; a chunk still queued here is its own.
        if (this.readableLength === 0) this.#spare = chunk;
        if (!more) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      // At once, not a turn later: a release() right after the loop stops must start it again.
      this.#reading = false;
    }
  }

  override _write(chunk: Uint8Array, _encoding: string, done: (error?: Error) => void): void {
    this.#output.write(chunk).then(() => done(), done);
  }

  override _final(done: (error?: Error) => void): void {
    this.#output.flushed().catch(() => {})
      .then(() => this.#sendFarewell())
      .then(() => this.#conn.closeWrite())
      .then(() => done(), () => done());
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#sendFarewell().finally(() => this.#close());
    done(error);
  }

  /** Writes {@link farewell} once, if set, within {@link FAREWELL_WRITE_MS}. */
  async #sendFarewell(): Promise<void> {
    const farewell = this.farewell;
    this.farewell = undefined;
    if (!farewell) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cut = new Promise<void>((resolve) => timer = setTimeout(resolve, FAREWELL_WRITE_MS));
    await Promise.race([writeAll(this.#conn, farewell).catch(() => {}), cut]);
    clearTimeout(timer);
  }

  #close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
