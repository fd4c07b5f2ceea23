/**
 * Lines of text over a control connection, both ways, each read bounded in
 * size and each read or write in time: a peer that sends too much, or
 * nothing, or does not read, costs a timer and is cut off.
 *
 * @module
 */

import { concatBytes } from "../shared/concat_bytes.ts";

/** Why a line could not be read or written. */
export class LineChannelError extends Error {
  constructor(
    readonly reason: "too-long" | "timeout" | "cut",
    message: string,
  ) {
    super(message);
    this.name = "LineChannelError";
  }
}

const NEWLINE = 0x0a;
const READ_SIZE = 64 * 1024;

/** Reads and writes newline-terminated lines on `conn`. */
export class LineChannel {
  #conn: Deno.Conn;
  #maxLineBytes: number;
  /** Bytes read past the last line returned. */
  #pending: Uint8Array = new Uint8Array(0);
  #closed = false;

  /**
   * Lines longer than `maxLineBytes` (newline included) are refused once that
   * many bytes are buffered, so at most that plus one read's worth is held.
   */
  constructor(conn: Deno.Conn, maxLineBytes: number) {
    this.#conn = conn;
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * The next line without its newline, or null if the peer closed before
   * sending any byte of one. Throws {@link LineChannelError} on a line too
   * long, on the peer closing in the middle of a line, and on `timeoutMs`
   * passing (which closes the connection).
   */
  readLine(timeoutMs: number): Promise<string | null> {
    return this.#within(timeoutMs, "a line", () => this.#readLine());
  }

  /** Writes all of `bytes`; closes and throws {@link LineChannelError} after `timeoutMs`. */
  write(bytes: Uint8Array, timeoutMs: number): Promise<void> {
    return this.#within(timeoutMs, "writing a line", async () => {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    });
  }

  /** Closes the connection (again: nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  async #readLine(): Promise<string | null> {
    for (;;) {
      const end = this.#pending.indexOf(NEWLINE);
      if (end >= 0) {
        if (end + 1 > this.#maxLineBytes) throw this.#tooLong();
        const line = this.#pending.subarray(0, end);
        this.#pending = this.#pending.slice(end + 1);
        return new TextDecoder("utf-8", { fatal: false }).decode(line);
      }
      if (this.#pending.length >= this.#maxLineBytes) throw this.#tooLong();
      // Whole chunks, not just up to the limit: a peer refused for a long line is more
      // likely to have been read to its end, so closing does not reset the reply away.
      const buffer = new Uint8Array(READ_SIZE);
      const read = await this.#conn.read(buffer);
      if (read === null) {
        if (this.#pending.length === 0) return null;
        throw new LineChannelError("cut", "the connection closed in the middle of a line");
      }
      this.#pending = concatBytes(this.#pending, buffer.subarray(0, read));
    }
  }

  #tooLong(): LineChannelError {
    return new LineChannelError("too-long", `a line is longer than ${this.#maxLineBytes} bytes`);
  }

  /** Runs `act`; past `ms` closes the connection (ending a read or write stuck in it) and throws. */
  async #within<T>(ms: number, what: string, act: () => Promise<T>): Promise<T> {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.close();
    }, ms);
    const timeout = () =>
      new LineChannelError("timeout", `${what} took longer than ${ms / 1000} s`);
    try {
      const result = await act();
      if (expired) throw timeout();
      return result;
    } catch (error) {
      throw expired ? timeout() : error;
    } finally {
      clearTimeout(timer);
    }
  }
}
