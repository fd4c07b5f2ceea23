/**
 * Virtual paths: how a client's path becomes a normalised absolute path
 * inside the user's root. Resolution is purely textual and works like a
 * chroot: `..` never climbs above "/", so no input can name anything outside
 * the root. Backends still confine every path on their medium (symlinks).
 *
 * Percent-encodings are *not* decoded: "%2e%2e" is a literal file name made
 * of six characters, which is safe because it never means "parent".
 *
 * @module
 */

import { MAX_PATH_BYTES, MAX_VIRTUAL_PATH_BYTES } from "../protocol/constants.ts";
import { STATUS } from "../protocol/status.ts";
import { utf8Length } from "../shared/utf8_length.ts";
import { StorageError } from "./storage.ts";

/** The server's private folder inside each user root; clients can never name it. */
export const RESERVED_NAME = ".dfos";
/** Longest single path component, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_COMPONENT_BYTES = 255;

/**
 * Resolves what a client sent against its current directory.
 *
 * `cwd` is an already-normalised virtual path ("/" or "/a/b"). An `input`
 * starting with "/" starts at the user's root, anything else at `cwd`; an
 * empty input means ".". Empty and "." components are dropped and ".." pops
 * one component but never above "/".
 *
 * @throws {StorageError} INVALID_PATH for control characters, backslashes,
 * an over-long component, or a result longer than {@link MAX_VIRTUAL_PATH_BYTES}
 * (the one place that limit is checked); PERMISSION_DENIED when the result is
 * inside {@link RESERVED_NAME}.
 *
 * @example
 * ```ts
 * resolveVirtualPath("/docs", "../../etc/passwd"); // "/etc/passwd"
 * resolveVirtualPath("/docs", "a/./b/");           // "/docs/a/b"
 * ```
 */
export function resolveVirtualPath(cwd: string, input: string): string {
  validateInput(input);
  const start = input.startsWith("/") ? [] : splitComponents(cwd);
  const components = [...start];
  for (const component of input.split("/")) {
    if (component === "" || component === ".") continue;
    if (component === "..") components.pop();
    else components.push(component);
  }
  const resolved = "/" + components.join("/");
  if (components[0] === RESERVED_NAME) {
    throw new StorageError(
      STATUS.PERMISSION_DENIED,
      `${resolved}: the name ${RESERVED_NAME} at the top of your storage is reserved`,
    );
  }
  const length = utf8Length(resolved);
  if (length > MAX_VIRTUAL_PATH_BYTES) {
    invalid(
      `${shorten(resolved)}: the path is ${length} bytes long` +
        `${input.startsWith("/") ? "" : " once resolved"}; paths may be at most ` +
        `${MAX_VIRTUAL_PATH_BYTES} bytes`,
    );
  }
  return resolved;
}

/**
 * The last component of a normalised virtual path ("" for "/").
 *
 * @example
 * ```ts
 * virtualBaseName("/docs/a.txt"); // "a.txt"
 * ```
 */
export function virtualBaseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The parent of a normalised virtual path; the parent of "/" is "/".
 *
 * @example
 * ```ts
 * virtualParent("/docs/a.txt"); // "/docs"
 * virtualParent("/docs");       // "/"
 * ```
 */
export function virtualParent(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * The components of a normalised virtual path ("/" has none).
 *
 * @example
 * ```ts
 * virtualComponents("/docs/a.txt"); // ["docs", "a.txt"]
 * ```
 */
export function virtualComponents(path: string): string[] {
  return splitComponents(path);
}

function splitComponents(path: string): string[] {
  return path.split("/").filter((component) => component !== "");
}

/** A path quoted for a message: its start, enough to recognise it. */
function shorten(path: string): string {
  return JSON.stringify(path.length > 80 ? path.slice(0, 80) + "…" : path);
}

function validateInput(input: string): void {
  // Runs for every request and every scanned file: the message is built only for a refusal.
  for (let index = 0; index < input.length; index++) {
    const code = input.charCodeAt(index);
    if (code === 0) invalid(`${shorten(input)}: paths may not contain a NUL byte`);
    if (code < 0x20 || code === 0x7f) {
      invalid(`${shorten(input)}: paths may not contain control characters (such as newlines)`);
    }
    if (code === 0x5c) {
      invalid(
        `${shorten(input)}: backslashes are not path separators here and are refused; use "/"`,
      );
    }
  }
  if (input.length * 3 > MAX_PATH_BYTES && utf8Length(input) > MAX_PATH_BYTES) {
    invalid(`${shorten(input)}: the path is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (input.length * 3 <= MAX_COMPONENT_BYTES) return;
  for (const component of input.split("/")) {
    if (utf8Length(component) > MAX_COMPONENT_BYTES) {
      invalid(`${shorten(input)}: a path component is longer than ${MAX_COMPONENT_BYTES} bytes`);
    }
  }
}

function invalid(message: string): never {
  throw new StorageError(STATUS.INVALID_PATH, message);
}
