/**
 * Test files: deterministic contents, hashing, and tree snapshots.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { Mulberry32 } from "./random.ts";

/** Pseudo-random bytes from a fixed seed (mulberry32), so failures reproduce. */
export function seededBytes(length: number, seed = 1): Uint8Array {
  const generator = new Mulberry32(seed);
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 4) {
    const value = generator.next();
    for (let byte = 0; byte < 4 && index + byte < length; byte++) {
      bytes[index + byte] = (value >>> (byte * 8)) & 0xff;
    }
  }
  return bytes;
}

/** Writes a file of `size` bytes built from a repeated 1 MiB seeded block, without buffering it whole. */
export async function writeLargeFile(path: string, size: number, seed = 7): Promise<void> {
  const block = seededBytes(Math.min(size, 1024 * 1024), seed);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let written = 0; written < size;) {
    const chunk = block.subarray(0, Math.min(block.length, size - written));
    for (let offset = 0; offset < chunk.length;) offset += await file.write(chunk.subarray(offset));
    written += chunk.length;
  }
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1024 * 1024);
  for (;;) {
    const read = await file.read(buffer);
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
  }
  return hash.digest("hex");
}

/** SHA-256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * `root` and every entry below it: relative path ("." for `root`) →
 * "dir:mtimeSeconds" or "size:sha256:mtimeSeconds".
 */
export async function snapshotTree(root: string, relative = ""): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  const seconds = (info: Deno.FileInfo) => Math.floor((info.mtime?.getTime() ?? 0) / 1000);
  if (relative === "") result.set(".", `dir:${seconds(await Deno.stat(root))}`);
  for await (const entry of Deno.readDir(join(root, relative))) {
    const path = relative ? `${relative}/${entry.name}` : entry.name;
    const info = await Deno.stat(join(root, path));
    if (entry.isDirectory) {
      result.set(path, `dir:${seconds(info)}`);
      for (const [key, value] of await snapshotTree(root, path)) result.set(key, value);
    } else {
      result.set(path, `${info.size}:${await sha256File(join(root, path))}:${seconds(info)}`);
    }
  }
  return result;
}

/** Lists names in a directory that look like partial or hidden files. */
export async function hiddenNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".")) names.push(entry.name);
  }
  return names;
}
