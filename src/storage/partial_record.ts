/**
 * The sidecar record of a partial upload: `<partial>.json` beside the
 * partial file, saying which (path, size, mtime) it is for, since the
 * partial's own name is a one-way hash of them. {@link LocalUpload} writes
 * it; `local_partials.ts` reads it. Pure encoding here, no I/O.
 *
 * @module
 */

import { resolveVirtualPath } from "./virtual_path.ts";

/** What is appended to a partial's file name to name its sidecar. */
export const PARTIAL_RECORD_SUFFIX = ".json";

/**
 * Largest sidecar read. A record holds a path of at most 4096 bytes, which
 * JSON may escape to twice that, plus two numbers; anything larger is junk.
 */
export const MAX_PARTIAL_RECORD_BYTES = 16 * 1024;

/** Version of the record's layout, written into it. */
const RECORD_FORMAT = 1;

/** What a partial upload is for: the identity its file name hashes. */
export interface PartialRecord {
  /** The virtual path the upload will become. */
  path: string;
  /** The file's announced size. */
  size: number;
  /** The modification time the file will get, ms. */
  mtimeMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The sidecar bytes for `record`.
 *
 * @example
 * ```ts
 * encodePartialRecord({ path: "/a.txt", size: 3, mtimeMs: 0 });
 * // {"format":1,"path":"/a.txt","size":3,"mtimeMs":0}
 * ```
 */
export function encodePartialRecord(record: PartialRecord): Uint8Array {
  const { path, size, mtimeMs } = record;
  const bytes = encoder.encode(JSON.stringify({ format: RECORD_FORMAT, path, size, mtimeMs }));
  if (bytes.length > MAX_PARTIAL_RECORD_BYTES) {
    throw new RangeError(`a partial record of ${bytes.length} bytes`);
  }
  return bytes;
}

/**
 * The record in `bytes`, or null unless they are a well-formed record: this
 * format, a normalised virtual path other than "/", and non-negative integers.
 */
export function decodePartialRecord(bytes: Uint8Array): PartialRecord | null {
  if (bytes.length > MAX_PARTIAL_RECORD_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { format, path, size, mtimeMs } = value as Record<string, unknown>;
  if (format !== RECORD_FORMAT || !isCount(size) || !isCount(mtimeMs)) return null;
  if (typeof path !== "string" || path === "/" || !isNormalisedPath(path)) return null;
  return { path, size, mtimeMs };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isNormalisedPath(path: string): boolean {
  try {
    return resolveVirtualPath("/", path) === path;
  } catch {
    return false;
  }
}
