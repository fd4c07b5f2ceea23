/**
 * The interactive shell: a prompt like `alice@host:/docs> `, line editing
 * and history (node:readline), tab completion (completion.ts), and the same
 * commands as the one-shot form.
 *
 * @module
 */

import { createInterface } from "node:readline";
import process from "node:process";
import { type CommandContext, runCommand } from "./commands.ts";
import { ConnectionError, EXIT } from "./errors.ts";
import { completeLine, contextLister } from "./completion.ts";
import { splitCommandLine } from "./line_words.ts";

/** Reports a failed command: `dfos: <what>: <why>`. */
export type FailureReporter = (what: string, error: unknown) => void;

/** Runs the shell until `exit`, end of input, or a lost connection; resolves to the exit code. */
export async function runShell(context: CommandContext, report: FailureReporter): Promise<number> {
  const terminal = Deno.stdin.isTerminal();
  const lister = contextLister(context);
  const shell = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    historySize: 1000,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      completeLine(line, lister).then(
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
