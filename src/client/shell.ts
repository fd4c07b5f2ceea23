/**
 * The interactive shell: a prompt like `alice@host:/docs> `, line editing
 * and history (node:readline), tab completion of command names and of
 * remote or local paths, and the same commands as the one-shot form.
 *
 * @module
 */

import { createInterface } from "node:readline";
import process from "node:process";
import { posix } from "node:path";
import { type CommandContext, COMMANDS, findCommand, runCommand } from "./commands.ts";
import { ConnectionError, EXIT, UsageError } from "./errors.ts";

/** Reports a failed command: `dfos: <what>: <why>`. */
export type FailureReporter = (what: string, error: unknown) => void;

/** Runs the shell until `exit`, end of input, or a lost connection; resolves to the exit code. */
export async function runShell(context: CommandContext, report: FailureReporter): Promise<number> {
  const terminal = Deno.stdin.isTerminal();
  const shell = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    historySize: 1000,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      complete(context, line).then(
        (result) => callback(null, result),
        () => callback(null, [[], line]),
      );
    },
  });
  const prompt = () => {
    shell.setPrompt(`${context.user}@${context.host}:${context.cwd}> `);
    // Keep the cursor where it is: the user may have typed ahead while a command ran.
    if (terminal) shell.prompt(true);
  };
  if (terminal) await context.print(`Connected to ${context.host}. Type help for commands.\n`);
  let leaving = false;
  let lost = false;
  let busy = false;
  // The server may close an idle session (shutdown, idle timeout): leave at once.
  context.connection.closedPromise.then(() => {
    lost = true;
    if (leaving || busy) return; // A running command reports it itself.
    report("connection", context.connection.closedReason);
    shell.close();
  });
  prompt();
  for await (const line of shell) {
    busy = true;
    const outcome = await runLine(context, line, report);
    busy = false;
    if (outcome === "exit" || lost) break;
    prompt();
  }
  leaving = true;
  shell.close();
  return lost || context.connection.closed ? EXIT.CONNECTION : EXIT.OK;
}

async function runLine(context: CommandContext, line: string, report: FailureReporter) {
  let words: string[];
  try {
    words = splitCommandLine(line);
  } catch (error) {
    report("shell", error);
    return;
  }
  if (words.length === 0) return;
  try {
    return await runCommand(context, words);
  } catch (error) {
    report(words[0], error);
    if (error instanceof ConnectionError) return "exit";
  }
}

/**
 * Splits a line into words like a POSIX shell would for simple cases:
 * whitespace separates, '…' and "…" quote, backslash escapes the next
 * character outside single quotes.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && index + 1 < line.length) current += line[++index];
      else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === "\\" && index + 1 < line.length) {
      current += line[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote} quote`);
  if (inWord) words.push(current);
  return words;
}

/** Completion candidates for the last word of `line`. */
async function complete(context: CommandContext, line: string): Promise<[string[], string]> {
  const words = line.split(/\s+/);
  const word = words[words.length - 1];
  if (words.length === 1) {
    const names = COMMANDS.flatMap((command) => [command.name, ...(command.aliases ?? [])]);
    return [names.filter((name) => name.startsWith(word)).sort(), word];
  }
  const kind = findCommand(words[0])?.completes;
  if (!kind || word.startsWith("-")) return [[], word];
  const slash = word.lastIndexOf("/");
  const dir = slash < 0 ? "" : word.slice(0, slash + 1);
  const prefix = word.slice(slash + 1);
  const names = kind === "remote" ? await remoteNames(context, dir) : await localNames(dir);
  return [names.filter((name) => name.startsWith(prefix)).map((name) => dir + name), word];
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
