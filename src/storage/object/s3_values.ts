/**
 * The small pure parts of S3 requests and replies: checks of the arguments,
 * listing markers, tags as S3 writes them, and the tag S3 gives the object
 * a multipart upload makes.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type ListOptions, MAX_LIST_PAGE, MAX_PARTS, type ReadRange } from "./object_store.ts";

/** An ETag without the quotes S3 puts around it. */
export function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, "$1");
}

/** Throws a RangeError unless `partNumber` is 1 to {@link MAX_PARTS}. */
export function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    throw new RangeError(`part number ${partNumber} is not between 1 and ${MAX_PARTS}`);
  }
}

/** The range with its defaults; throws a RangeError for a negative or fractional bound. */
export function checkRange(range: ReadRange): { offset: number; length?: number } {
  const offset = range.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`the read offset ${offset} is not a whole number of bytes`);
  }
  const length = range.length;
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new RangeError(`the read length ${length} is not a whole number of bytes`);
  }
  return { offset, length };
}

/** The page size a listing asks for: the limit, at most {@link MAX_LIST_PAGE}. */
export function pageSize(options: ListOptions): number {
  const limit = options.limit ?? MAX_LIST_PAGE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`a listing's limit must be at least 1, not ${limit}`);
  }
  return Math.min(limit, MAX_LIST_PAGE);
}

/** The key and upload id markers a multipart-upload listing page ended at. */
export function parseUploadsMarker(after: string | undefined): [string?, string?] {
  if (after === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(after);
  } catch { /* refused below */ }
  if (
    !Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((m) => typeof m === "string")
  ) {
    throw new TypeError("not a marker of a multipart-upload listing");
  }
  return [parsed[0] || undefined, parsed[1] || undefined];
}

/** A stream of no bytes. */
export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/**
 * The tag S3 gives the object made of `parts` (the MD5 of their MD5s, then
 * "-" and their number), or undefined when a part's tag is not an MD5 (as
 * with some server-side encryption).
 */
export function multipartEtag(parts: readonly { etag: string }[]): string | undefined {
  const hash = createHash("md5");
  for (const { etag } of parts) {
    if (!/^[0-9a-f]{32}$/.test(etag)) return undefined;
    hash.update(Uint8Array.from(etag.match(/../g)!, (pair) => parseInt(pair, 16)));
  }
  return `${hash.digest("hex")}-${parts.length}`;
}
