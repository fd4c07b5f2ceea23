/**
 * Path arithmetic and bounds for the metadata tables. Paths arrive as
 * validated virtual paths (virtual_path.ts); they are checked again here,
 * cheaply, so that nothing unbounded or malformed reaches the database
 * whoever calls.
 *
 * @module
 */

import { MAX_VIRTUAL_PATH_BYTES } from "../protocol/constants.ts";
import { STATUS } from "../protocol/status.ts";
import { utf8Length } from "../shared/utf8_length.ts";
import { StorageError } from "../storage/storage.ts";

/**
 * The half-open range `[path/, path0)` of every path strictly inside the
 * folder `path`, in byte order ('0' follows '/'). For "/" it is every path.
 */
export function insideRange(path: string): [string, string] {
  return path === "/" ? ["/", "0"] : [`${path}/`, `${path}0`];
}

/** The folder holding `path` ("/" for a top-level name); null for the root. */
export function parentOf(path: string): string | null {
  if (path === "/") return null;
  const slash = path.lastIndexOf("/");
  return slash === 0 ? "/" : path.slice(0, slash);
}

/** The last component of `path` ("" for the root). */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Every folder above `path`, from the top down ("/" first). */
export function ancestorsOf(path: string): string[] {
  const ancestors: string[] = [];
  for (let parent = parentOf(path); parent !== null; parent = parentOf(parent)) {
    ancestors.unshift(parent);
  }
  return ancestors;
}

/**
 * Refuses what is not a normalised absolute path within the protocol's
 * length limit (INVALID_PATH).
 */
export function checkPath(path: string): string {
  const normal = path === "/" ||
    (path.startsWith("/") && !path.endsWith("/") && !path.includes("//") &&
      !/(^|\/)\.\.?(\/|$)/.test(path));
  // deno-lint-ignore no-control-regex -- control characters are what it refuses
  if (!normal || /[\x00-\x1f\x7f\\]/.test(path)) {
    throw new StorageError(STATUS.INVALID_PATH, `${printable(path)}: not a normalised path`);
  }
  if (utf8Length(path) > MAX_VIRTUAL_PATH_BYTES) {
    throw new StorageError(
      STATUS.INVALID_PATH,
      `${printable(path)}: longer than ${MAX_VIRTUAL_PATH_BYTES} bytes`,
    );
  }
  return path;
}

/** Refuses what is not a SHA-256 in lowercase hex. */
export function checkSha256(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    throw new StorageError(STATUS.BAD_REQUEST, "a SHA-256 must be 64 lowercase hex digits");
  }
  return sha256;
}

/** Refuses a size or time that is not a whole number in the safe range (BAD_REQUEST). */
export function checkWhole(value: number, what: string, minimum = 0): number {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new StorageError(STATUS.BAD_REQUEST, `${what} must be a whole number >= ${minimum}`);
  }
  return value;
}

/** Refuses a text field over `maxBytes` bytes or empty (BAD_REQUEST). */
export function checkText(value: string, what: string, maxBytes: number): string {
  if (value.length === 0 || utf8Length(value) > maxBytes) {
    throw new StorageError(STATUS.BAD_REQUEST, `${what} must be 1 to ${maxBytes} bytes`);
  }
  return value;
}

/** At most the first 80 characters of a refused path, controls escaped, for messages. */
function printable(path: string): string {
  const shown = path.length > 80 ? `${path.slice(0, 80)}...` : path;
  return JSON.stringify(shown);
}
