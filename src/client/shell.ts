/**
 * The interactive shell: a prompt like `alice@host:/docs> `, line editing
 * and history (node:readline), tab completion (completion.ts), and the same
 * commands as the one-shot form. Ctrl-C cancels the running command and
 * returns to the prompt, or clears the line at the prompt; Ctrl-D leaves.
 *
 * Without a terminal the shell runs a batch, as `sftp -b` does: the first
 * command that fails ends it, with that command's exit code, unless its line
 * starts with `-` (shell_line.ts).
 *
 * @module
 */

import { createInterface, type Interface } from "node:readline";
import process from "node:process";
import { type CommandContext, runCommand } from "./commands.ts";
import { CancelledError, ConnectionError, EXIT, exitCodeFor } from "./errors.ts";
import { completeLine, contextLister } from "./completion.ts";
import { CommandInterrupt, onInterruptSignal } from "./interrupt.ts";
import { parseShellLine } from "./shell_line.ts";

/** Reports a failed command: `dfos: <what>: <why>`. */
export type FailureReporter = (what: string, error: unknown) => void;

/** Runs the shell until `exit`, end of input, a lost connection, or a failed batch command; resolves to the exit code. */
export function runShell(context: CommandContext, report: FailureReporter): Promise<number> {
  return new Shell(context, report).run();
}

/** Whether the shell goes on after a line, or leaves with an exit code. */
type LineOutcome = { leave: false } | { leave: true; code: number };

const GO_ON: LineOutcome = { leave: false };

class Shell {
  #context: CommandContext;
  #report: FailureReporter;
  #terminal = Deno.stdin.isTerminal();
  #readline: Interface;
  /** On a terminal only: without one no prompt follows output, which reaches a batch's stdout as is. */
  #output: LineEndTracker | undefined;
  /** The command running now, if any. */
  #running: CommandInterrupt | undefined;
  /** Set when Ctrl-C ends a batch between two commands. */
  #interruptedCode: number | undefined;
  #lost = false;
  #leaving = false;

  constructor(context: CommandContext, report: FailureReporter) {
    this.#context = context;
    this.#report = report;
    if (this.#terminal) this.#output = new LineEndTracker(context);
    const lister = contextLister(context);
    this.#readline = createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: this.#terminal,
      historySize: 1000,
      completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
        completeLine(line, lister).then(
          (result) => callback(null, result),
          () => callback(null, [[], line]),
        );
      },
    });
    // With a listener, readline no longer closes itself on Ctrl-C.
    this.#readline.on("SIGINT", () => this.#interrupt());
  }

  async run(): Promise<number> {
    using _signal = onInterruptSignal(() => this.#interrupt());
    if (this.#terminal) {
      await this.#context.print(`Connected to ${this.#context.host}. Type help for commands.\n`);
    }
    this.#watchConnection();
    let outcome: LineOutcome = GO_ON;
    this.#prompt();
    for await (const line of this.#readline) {
      outcome = await this.#runLine(line);
      if (outcome.leave || this.#lost) break;
      this.#prompt();
    }
    // Ctrl-D at the prompt: leave on a line of its own.
    if (this.#terminal && !outcome.leave && !this.#lost) await this.#context.print("\n");
    this.#leaving = true;
    this.#readline.close();
    if (this.#lost || this.#context.connection.closed) return EXIT.CONNECTION;
    return outcome.leave ? outcome.code : this.#interruptedCode ?? EXIT.OK;
  }

  /** The server may close an idle session (shutdown, idle timeout): leave at once. */
  #watchConnection(): void {
    this.#context.connection.closedPromise.then(() => {
      this.#lost = true;
      if (this.#leaving || this.#running) return; // A running command reports it itself.
      this.#report("connection", this.#context.connection.closedReason);
      this.#readline.close();
    });
  }

  #prompt(): void {
    const context = this.#context;
    this.#readline.setPrompt(`${context.user}@${context.host}:${context.cwd}> `);
    // Keep the cursor where it is: the user may have typed ahead while a command ran.
    if (this.#terminal) this.#readline.prompt(true);
  }

  /** Ctrl-C: cancels the running command; at the prompt clears the line, or ends a batch. */
  #interrupt(): void {
    if (this.#running) {
      if (!this.#running.interrupted) this.#running.interrupt();
    } else if (this.#terminal) {
      this.#clearLine();
    } else {
      this.#interruptedCode = EXIT.INTERRUPTED;
      this.#readline.close();
    }
  }

  /** Shows `^C`, moves to a new line with nothing typed on it, and prompts again (as bash does). */
  #clearLine(): void {
    const readline = this.#readline as Interface & { clearLine(): void };
    readline.write(null, { ctrl: true, name: "e" }); // To the end of what was typed.
    process.stdout.write("^C");
    readline.clearLine(); // A new line, and forgets what was typed.
    this.#prompt();
  }

  async #runLine(line: string): Promise<LineOutcome> {
    let parsed;
    try {
      parsed = parseShellLine(line);
    } catch (error) {
      this.#report("shell", error);
      return this.#terminal ? GO_ON : { leave: true, code: exitCodeFor(error) };
    }
    if (parsed.kind === "comment") return GO_ON;
    const [name] = parsed.words;
    this.#running = new CommandInterrupt();
    this.#context.signal = this.#running.signal;
    try {
      const outcome = await runCommand(this.#context, parsed.words);
      return outcome === "exit" ? { leave: true, code: EXIT.OK } : GO_ON;
    } catch (error) {
      this.#report(name, error);
      if (error instanceof ConnectionError) return { leave: true, code: EXIT.CONNECTION };
      // A batch stops at its first failure, unless the line said "-"; Ctrl-C always stops it.
      const ignored = parsed.ignoreFailure && !(error instanceof CancelledError);
      return this.#terminal || ignored ? GO_ON : { leave: true, code: exitCodeFor(error) };
    } finally {
      this.#running = undefined;
      this.#context.signal = undefined;
      await this.#output?.endLine();
    }
  }
}

/**
 * Watches what commands write to standard output, so that output without a
 * final newline (`cat -n 3 f`) is not overwritten by the next prompt.
 */
class LineEndTracker {
  #print: (text: string) => Promise<void>;
  #open = false;

  constructor(context: CommandContext) {
    const print = context.print;
    const write = context.write;
    this.#print = print;
    context.print = (text) => {
      if (text.length > 0) this.#open = !text.endsWith("\n");
      return print(text);
    };
    context.write = (bytes) => {
      if (bytes.length > 0) this.#open = bytes[bytes.length - 1] !== 0x0a;
      return write(bytes);
    };
  }

  /** Writes a newline if the last output did not end with one. */
  async endLine(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#print("\n");
  }
}
