/**
 * The one HTTP request a metrics connection carries: its head read with a
 * size bound, and parsed strictly (HTTP/1.0 or 1.1, no body).
 *
 * @module
 */

/** A request head: nothing more is read of a request. */
export interface RequestHead {
  method: string;
  /** The path of the request target, without its query. */
  path: string;
}

/** A request refused with `status` (a 4xx or 5xx code) and a reason for the body. */
export class HttpRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "HttpRequestError";
  }
}

const HEAD_END = [13, 10, 13, 10];

/**
 * Reads from `conn` up to the blank line that ends the request head, at
 * most `maxBytes` in all; resolves to the head's bytes (without the blank
 * line), or null if the peer closed before sending anything. A longer head
 * is an {@link HttpRequestError} 431, a head cut short one 400.
 */
export async function readRequestHead(
  conn: Deno.Conn,
  maxBytes: number,
): Promise<Uint8Array | null> {
  const buffer = new Uint8Array(maxBytes);
  let filled = 0;
  while (filled < maxBytes) {
    const read = await conn.read(buffer.subarray(filled));
    if (read === null) {
      if (filled === 0) return null;
      throw new HttpRequestError(400, "the request ended before its head did");
    }
    const searchFrom = Math.max(0, filled - HEAD_END.length + 1);
    filled += read;
    const end = findHeadEnd(buffer, searchFrom, filled);
    if (end >= 0) return buffer.slice(0, end);
  }
  throw new HttpRequestError(431, `the request head is over ${maxBytes} bytes`);
}

function findHeadEnd(buffer: Uint8Array, from: number, to: number): number {
  for (let at = from; at + HEAD_END.length <= to; at++) {
    if (HEAD_END.every((byte, offset) => buffer[at + offset] === byte)) return at;
  }
  return -1;
}

const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d)\.(\d)$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/**
 * Parses a request head (from {@link readRequestHead}). Refused: a malformed
 * line (400), an HTTP version other than 1.0 and 1.1 (505), and a request
 * with a body (413): these endpoints take none.
 */
export function parseRequestHead(head: Uint8Array): RequestHead {
  const lines = new TextDecoder("latin1").decode(head).split("\r\n");
  const request = lines[0].match(REQUEST_LINE);
  if (!request) throw new HttpRequestError(400, "malformed request line");
  const [, method, target, major, minor] = request;
  if (major !== "1" || (minor !== "0" && minor !== "1")) {
    throw new HttpRequestError(505, `HTTP/${major}.${minor} is not supported`);
  }
  for (const line of lines.slice(1)) {
    const header = line.match(HEADER_LINE);
    if (!header) throw new HttpRequestError(400, "malformed header line");
    const name = header[1].toLowerCase();
    if (name === "transfer-encoding" || (name === "content-length" && header[2] !== "0")) {
      throw new HttpRequestError(413, "these endpoints take no request body");
    }
  }
  if (!target.startsWith("/")) throw new HttpRequestError(400, "the target must be a path");
  return { method, path: target.split("?")[0] };
}
