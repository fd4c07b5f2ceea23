/**
 * Counted nouns for messages people read: "1 file", "3 files", "1 directory".
 *
 * @module
 */

/**
 * `count` followed by the noun, singular for exactly one and plural otherwise.
 * The plural is `singular + "s"` unless given (`plural(2, "directory", "directories")`).
 *
 * @example
 * ```ts
 * plural(1, "session"); // "1 session"
 * plural(0, "file"); // "0 files"
 * plural(3, "directory", "directories"); // "3 directories"
 * ```
 */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
