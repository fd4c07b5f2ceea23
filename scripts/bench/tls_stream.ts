/**
 * The bare-TLS ceiling's wire format, shared by tls_server.ts and
 * tls_client.ts. It is the least a file copy over TLS can do: after an
 * 8-byte request (`P` put or `G` get, then a big-endian group number) the
 * files of that group flow back to back, with no per-file framing — both
 * sides know the names and sizes from the manifest file. After a put the
 * server answers one byte once every file is written and closed.
 *
 * With integrity on (the request's second byte is 1), both ends also hash
 * every byte with SHA-256 as DFOS does: the sender sends the 32-byte digest
 * right after each file's bytes and the receiver compares it with its own.
 * That is the least a verified file copy over TLS can do.
 *
 * Both sides move 256 KiB at a time, like the DFOS client and server: the
 * sender reads 256 KiB from the file and writes it to the socket; the
 * receiver fills 256 KiB from the socket (TLS hands over about one 16 KiB
 * record per read) and writes it to the file. With two buffers on each side,
 * the file I/O of one chunk overlaps the socket I/O of the next, as in DFOS.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";

/** Groups of files; a connection moves exactly one group. */
export interface Manifest {
  groups: { path: string; size: number }[][];
}

/** The size of each file read. */
export const READ_SIZE = 256 * 1024;
/** Length of the request that opens a connection. */
export const REQUEST_BYTES = 8;
/** Length of the SHA-256 digest that follows each file when integrity is on. */
const DIGEST_BYTES = 32;

/** What a connection asks for. */
export interface Request {
  op: "put" | "get";
  group: number;
  /** Hash every byte on both ends and check the digest after each file. */
  sha256: boolean;
}

/** Encodes a request. */
export function encodeRequest(request: Request): Uint8Array {
  const bytes = new Uint8Array(REQUEST_BYTES);
  bytes[0] = request.op === "put" ? 0x50 : 0x47;
  bytes[1] = request.sha256 ? 1 : 0;
  new DataView(bytes.buffer).setUint32(4, request.group);
  return bytes;
}

/** Decodes a request; throws on anything else. */
export function decodeRequest(bytes: Uint8Array): Request {
  const op = bytes[0] === 0x50 ? "put" : bytes[0] === 0x47 ? "get" : undefined;
  if (!op) throw new Error(`unknown request byte ${bytes[0]}`);
  const group = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4);
  return { op, group, sha256: bytes[1] === 1 };
}

/** Something to read bytes from: a connection or a file. */
export interface ByteSource {
  read(bytes: Uint8Array): Promise<number | null>;
}

/** Something to write bytes to: a connection or a file. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Reads exactly `bytes.length` bytes; throws if the stream ends first. */
export async function readFull(conn: ByteSource, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    const count = await conn.read(bytes.subarray(offset));
    if (count === null) throw new Error("connection closed early");
    offset += count;
  }
}

/** Writes all of `bytes`. */
export async function writeAll(writer: ByteSink, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await writer.write(bytes.subarray(offset));
}

/** Streams the group's files from `root` to `conn`, back to back (each with its digest if `sha256`). */
export async function sendFiles(
  conn: Deno.Conn,
  root: string,
  files: Manifest["groups"][number],
  sha256: boolean,
): Promise<void> {
  // Two buffers: the next file read overlaps the previous socket write, as DFOS does;
  // without the overlap this "ceiling" would be slower than the program it bounds.
  const buffers = [new Uint8Array(READ_SIZE), new Uint8Array(READ_SIZE)];
  let inFlight: Promise<void> = Promise.resolve();
  let turn = 0;
  for (const entry of files) {
    using file = await Deno.open(join(root, entry.path), { read: true });
    const hash = sha256 ? createHash("sha256") : undefined;
    for (;; turn ^= 1) {
      const count = await file.read(buffers[turn]);
      if (count === null) break;
      hash?.update(buffers[turn].subarray(0, count));
      await inFlight;
      inFlight = writeAll(conn, buffers[turn].subarray(0, count));
      inFlight.catch(() => {});
    }
    await inFlight;
    if (hash) await writeAll(conn, hash.digest());
  }
}

/**
 * Writes the group's files under `root` from the bytes arriving on `conn`,
 * 256 KiB at a time; with `sha256`, checks each file's digest and throws on a mismatch.
 */
export async function receiveFiles(
  conn: Deno.Conn,
  root: string,
  files: Manifest["groups"][number],
  sha256: boolean,
): Promise<void> {
  const buffers = [new Uint8Array(READ_SIZE), new Uint8Array(READ_SIZE)];
  const folders = new Set<string>();
  for (const entry of files) {
    const target = join(root, entry.path);
    const folder = dirname(target);
    if (!folders.has(folder)) {
      await Deno.mkdir(folder, { recursive: true });
      folders.add(folder);
    }
    using file = await Deno.open(target, { write: true, create: true, truncate: true });
    const hash = sha256 ? createHash("sha256") : undefined;
    // Two buffers: the next socket read overlaps the previous file write.
    let inFlight: Promise<void> = Promise.resolve();
    for (let remaining = entry.size, turn = 0; remaining > 0; turn ^= 1) {
      const chunk = buffers[turn].subarray(0, Math.min(READ_SIZE, remaining));
      await readFull(conn, chunk).catch(() => {
        throw new Error(`connection closed inside ${entry.path}`);
      });
      hash?.update(chunk);
      await inFlight;
      inFlight = writeAll(file, chunk);
      inFlight.catch(() => {});
      remaining -= chunk.length;
    }
    await inFlight;
    if (hash) {
      const expected = new Uint8Array(DIGEST_BYTES);
      await readFull(conn, expected);
      if (!hash.digest().equals(expected)) throw new Error(`${entry.path}: SHA-256 mismatch`);
    }
  }
}

/** Reads a manifest file. */
export async function loadManifest(path: string): Promise<Manifest> {
  return JSON.parse(await Deno.readTextFile(path)) as Manifest;
}
