/**
 * How the shell splits a typed line into words, as a POSIX shell does in
 * simple cases: whitespace separates, '…' and "…" quote, and a backslash
 * escapes the next character (outside single quotes). Running a line and
 * completing one read it by the same rules, and {@link quoteWord} writes a
 * name back in them.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

/** A quote character. */
export type Quote = "'" | '"';

/** A line read as far as it goes: its words, and how the last one stands. */
export interface ScannedLine {
  /** The words, quotes and escapes removed (the last one may be unfinished). */
  words: string[];
  /** Whether the line ends inside a word (false: empty, or after whitespace). */
  inWord: boolean;
  /** Where the last word starts in the line; the line's length unless {@link inWord}. */
  lastWordStart: number;
  /** The quote still open at the end of the line, if any. */
  openQuote?: Quote;
}

/**
 * Splits `line` into words; an unterminated quote is a {@link UsageError}.
 *
 * @example
 * ```ts
 * splitCommandLine(`get 'my file.txt' back\\ up`); // ["get", "my file.txt", "back up"]
 * ```
 */
export function splitCommandLine(line: string): string[] {
  const scanned = scanLine(line);
  if (scanned.openQuote) throw new UsageError(`unterminated ${scanned.openQuote} quote`);
  return scanned.words;
}

/** Reads `line` into words without refusing an open quote: for completing what is being typed. */
export function scanLine(line: string): ScannedLine {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let lastWordStart = line.length;
  let quote: Quote | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && index + 1 < line.length) current += line[++index];
      else current += char;
      continue;
    }
    if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
      continue;
    }
    if (!inWord) lastWordStart = index;
    inWord = true;
    if (char === "'" || char === '"') quote = char;
    else if (char === "\\" && index + 1 < line.length) current += line[++index];
    else current += char;
  }
  if (inWord) words.push(current);
  else lastWordStart = line.length;
  return { words, inWord, lastWordStart, openQuote: quote };
}

/**
 * `text` written so that {@link splitCommandLine} reads it back unchanged
 * as (part of) one word: inside an open `quote`, or outside quotes.
 *
 * @example
 * ```ts
 * quoteWord("my file's.txt"); // my\ file\'s.txt
 * quoteWord("my file's.txt", "'"); // my file'\''s.txt
 * ```
 */
export function quoteWord(text: string, quote?: Quote): string {
  if (quote === "'") return text.replaceAll("'", `'\\''`);
  if (quote === '"') return text.replace(/["\\]/g, "\\$&");
  return text.replace(/[\s'"\\]/g, "\\$&");
}
