/**
 * The bare-TLS ceiling's wire format, shared by tls_server.ts and
 * tls_client.ts. It is the least a file copy over TLS can do: after an
 * 8-byte request (`P` put or `G` get, then a big-endian group number) the
 * files of that group flow back to back, with no per-file framing — both
 * sides know the names and sizes from the manifest file. After a put the
 * server answers one byte once every file is written and closed.
 *
 * Both sides move 256 KiB at a time, like the DFOS client and server: the
 * sender reads 256 KiB from the file and writes it to the socket; the
 * receiver fills 256 KiB from the socket (TLS hands over about one 16 KiB
 * record per read) and writes it to the file. With two buffers on each side,
 * the file I/O of one chunk overlaps the socket I/O of the next, as in DFOS.
 *
 * @module
 */

import { dirname, join } from "node:path";

/** Groups of files; a connection moves exactly one group. */
export interface Manifest {
  groups: { path: string; size: number }[][];
}

/** The size of each file read. */
export const READ_SIZE = 256 * 1024;
/** Length of the request that opens a connection. */
export const REQUEST_BYTES = 8;

/** Encodes the request for `group`. */
export function encodeRequest(op: "put" | "get", group: number): Uint8Array {
  const bytes = new Uint8Array(REQUEST_BYTES);
  bytes[0] = op === "put" ? 0x50 : 0x47;
  new DataView(bytes.buffer).setUint32(4, group);
  return bytes;
}

/** Decodes a request; throws on anything else. */
export function decodeRequest(bytes: Uint8Array): { op: "put" | "get"; group: number } {
  const op = bytes[0] === 0x50 ? "put" : bytes[0] === 0x47 ? "get" : undefined;
  if (!op) throw new Error(`unknown request byte ${bytes[0]}`);
  return { op, group: new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) };
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

/** Streams the group's files from `root` to `conn`, back to back. */
export async function sendFiles(
  conn: Deno.Conn,
  root: string,
  files: Manifest["groups"][number],
): Promise<void> {
  // Two buffers: the next file read overlaps the previous socket write, as DFOS does;
  // without the overlap this "ceiling" would be slower than the program it bounds.
  const buffers = [new Uint8Array(READ_SIZE), new Uint8Array(READ_SIZE)];
  let inFlight: Promise<void> = Promise.resolve();
  let turn = 0;
  for (const entry of files) {
    using file = await Deno.open(join(root, entry.path), { read: true });
    for (;; turn ^= 1) {
      const count = await file.read(buffers[turn]);
      if (count === null) break;
      await inFlight;
      inFlight = writeAll(conn, buffers[turn].subarray(0, count));
      inFlight.catch(() => {});
    }
    await inFlight;
  }
}

/** Writes the group's files under `root` from the bytes arriving on `conn`, 256 KiB at a time. */
export async function receiveFiles(
  conn: Deno.Conn,
  root: string,
  files: Manifest["groups"][number],
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
    // Two buffers: the next socket read overlaps the previous file write.
    let inFlight: Promise<void> = Promise.resolve();
    for (let remaining = entry.size, turn = 0; remaining > 0; turn ^= 1) {
      const chunk = buffers[turn].subarray(0, Math.min(READ_SIZE, remaining));
      await readFull(conn, chunk).catch(() => {
        throw new Error(`connection closed inside ${entry.path}`);
      });
      await inFlight;
      inFlight = writeAll(file, chunk);
      inFlight.catch(() => {});
      remaining -= chunk.length;
    }
    await inFlight;
  }
}

/** Reads a manifest file. */
export async function loadManifest(path: string): Promise<Manifest> {
  return JSON.parse(await Deno.readTextFile(path)) as Manifest;
}
