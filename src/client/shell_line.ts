/**
 * What one line of the shell asks for, read as `sftp -b` reads a batch
 * file: blank lines and lines whose first non-blank character is `#` are
 * comments; a `-` before the command means that its failure does not stop
 * a batch.
 *
 * @module
 */

import { splitCommandLine } from "./line_words.ts";

/** A line to run, or nothing to do. */
export type ShellLine =
  | { kind: "comment" }
  | { kind: "command"; words: string[]; ignoreFailure: boolean };

/**
 * Reads one line; an unterminated quote is a {@link UsageError}.
 *
 * @example
 * ```ts
 * parseShellLine("-rm old.txt"); // { kind: "command", words: ["rm", "old.txt"], ignoreFailure: true }
 * parseShellLine("  # set up"); // { kind: "comment" }
 * ```
 */
export function parseShellLine(line: string): ShellLine {
  const text = line.trimStart();
  if (text === "" || text.startsWith("#")) return { kind: "comment" };
  const ignoreFailure = text.startsWith("-");
  const words = splitCommandLine(ignoreFailure ? text.slice(1) : text);
  if (words.length === 0) return { kind: "comment" };
  return { kind: "command", words, ignoreFailure };
}
