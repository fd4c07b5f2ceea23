/**
 * Tab completion in the shell: command names first, then each argument on
 * the side it names (`put LOCAL REMOTE`, `get REMOTE LOCAL`, see
 * `Command.completes`). The typed line is read as the command parser reads
 * it, quotes and backslashes included, and a completed name is written
 * back so that the parser reads it as the one word it is.
 *
 * @module
 */

import { posix } from "node:path";
import type { CommandContext, PathSide } from "./command.ts";
import { COMMANDS, findCommand } from "./commands.ts";
import { quoteWord, scanLine, type ScannedLine } from "./line_words.ts";

/** Lists the names in a directory (directories with a trailing "/"). */
export type NameLister = (side: PathSide, dir: string) => Promise<string[]>;

/**
 * Completions for the end of `line`, and the typed text they extend
 * (node:readline's completer result). Every completion starts with that text.
 */
export async function completeLine(
  line: string,
  listNames: NameLister,
): Promise<[string[], string]> {
  const scanned = scanLine(line);
  const typed = scanned.inWord ? line.slice(scanned.lastWordStart) : "";
  const word = scanned.inWord ? scanned.words.at(-1)! : "";
  const before = scanned.inWord ? scanned.words.slice(0, -1) : scanned.words;
  if (before.length === 0) {
    const names = COMMANDS.flatMap((command) => [command.name, ...(command.aliases ?? [])]);
    return [names.filter((name) => name.startsWith(word)).sort(), typed];
  }
  const side = argumentSide(before, word);
  if (!side) return [[], typed];
  const dir = word.slice(0, word.lastIndexOf("/") + 1);
  const names = await listNames(side, dir);
  const completions = names.map((name) => dir + name).filter((path) => path.startsWith(word))
    .sort().map((path) => typed + rest(path.slice(word.length), scanned));
  return [completions, typed];
}

/** The remainder of a name, quoted to continue the typed word; a file's name closes an open quote. */
function rest(remainder: string, scanned: ScannedLine): string {
  const close = scanned.openQuote && !remainder.endsWith("/") ? scanned.openQuote : "";
  return quoteWord(remainder, scanned.openQuote) + close;
}

/**
 * The side the word being typed names, given the words before it; none for
 * a command without path arguments, or a flag. Flags do not count as
 * arguments; after `--` everything does.
 */
export function argumentSide(before: string[], word: string): PathSide | undefined {
  const sides = findCommand(before[0])?.completes;
  if (!sides || sides.length === 0) return undefined;
  let position = 0;
  let flagsEnded = false;
  for (const arg of before.slice(1)) {
    if (!flagsEnded && arg === "--") flagsEnded = true;
    else if (flagsEnded || !isFlag(arg)) position++;
  }
  if (!flagsEnded && isFlag(word)) return undefined;
  return sides[Math.min(position, sides.length - 1)];
}

function isFlag(word: string): boolean {
  return word.startsWith("-") && word !== "-";
}

/** Lists remote names through the connection, and local ones from the disk. */
export function contextLister(context: CommandContext): NameLister {
  return (side, dir) => side === "remote" ? remoteNames(context, dir) : localNames(dir);
}

async function remoteNames(context: CommandContext, dir: string): Promise<string[]> {
  const entries = await context.connection.list(dir === "" ? "." : posix.normalize(dir));
  return entries.map((entry) => entry.kind === "directory" ? `${entry.name}/` : entry.name);
}

async function localNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir === "" ? "." : dir)) {
    names.push(entry.isDirectory ? `${entry.name}/` : entry.name);
  }
  return names;
}
