/**
 * Keys under a store's prefix: what a caller names ("a1/b2"), what the
 * bucket holds ("PREFIX/a1/b2"), and the checks that keep every request
 * inside the prefix.
 *
 * @module
 */

/** S3's bound on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** Control characters and backslash: never in a key. */
// deno-lint-ignore no-control-regex
const BAD_KEY_CHARACTER = /[\u0000-\u001f\u007f\\]/;

/** Maps keys relative to one prefix onto the bucket's keys and back. */
export class S3Keys {
  readonly #base: string;

  /** `prefix`: without leading or trailing "/", "" for the whole bucket. */
  constructor(prefix: string) {
    this.#base = prefix === "" ? "" : `${prefix}/`;
  }

  /** The bucket's key of `key`; throws a TypeError for a key that is empty or unsafe. */
  full(key: string): string {
    if (key === "") throw new TypeError("an object key must not be empty");
    return this.listPrefix(key);
  }

  /** The bucket's prefix that lists the keys starting with `prefix` ("" for all). */
  listPrefix(prefix: string): string {
    if (prefix.startsWith("/") || BAD_KEY_CHARACTER.test(prefix)) {
      throw new TypeError(
        `the object key "${prefix}" starts with "/" or holds a control character or backslash`,
      );
    }
    if (prefix.split("/").some((segment) => segment === "." || segment === "..")) {
      throw new TypeError(`the object key "${prefix}" holds a "." or ".." segment`);
    }
    const full = this.#base + prefix;
    if (new TextEncoder().encode(full).length > MAX_KEY_BYTES) {
      throw new TypeError(`the object key "${prefix}" is too long under the store's prefix`);
    }
    return full;
  }

  /** The key relative to the prefix of a key the bucket listed. */
  relative(full: string): string {
    return full.startsWith(this.#base) ? full.slice(this.#base.length) : full;
  }
}
