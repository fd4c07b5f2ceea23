/**
 * The shape of a client command and the argument parser they share.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { ClientConnection } from "./connection.ts";
import type { RateLimiter } from "../shared/rate_limiter.ts";
import { UsageError } from "./errors.ts";

/** What a command can use. */
export interface CommandContext {
  connection: ClientConnection;
  user: string;
  host: string;
  /** Remote working directory, as last confirmed by the server. */
  cwd: string;
  /** No progress bars or summaries. */
  quiet: boolean;
  /** Paces transfers (`--limit-rate`). */
  limiter?: RateLimiter;
  /** Writes text to standard output. */
  print(text: string): Promise<void>;
  /** Writes raw bytes to standard output. */
  write(bytes: Uint8Array): Promise<void>;
  /** Writes a warning line to standard error. */
  warn(text: string): void;
  /**
   * Aborted when the user interrupts the running command (Ctrl-C): transfers
   * then cancel, keep their partials, and fail with a `CancelledError`.
   */
  signal?: AbortSignal;
  /**
   * Logs in again after the connection was lost and makes the new
   * connection this context's (long-running commands such as `sync --watch`).
   */
  reconnect?: () => Promise<void>;
  /** What the command's {@link Command.prepare} began while the client connected. */
  prepared?: PreparedWork;
}

/** What a command returns: nothing, or a request to leave the shell. */
export type CommandOutcome = void | "exit";

/** Which side's files a path argument names. */
export type PathSide = "remote" | "local";

/** One entry of the command table. */
export interface Command {
  name: string;
  aliases?: string[];
  usage: string;
  summary: string;
  /**
   * What the positional arguments name, for tab completion: the first entry
   * for the first argument and so on, the last entry for all after it. Left
   * out for commands without path arguments.
   */
  completes?: readonly PathSide[];
  /**
   * Local work the command may begin before the connection is open (a run
   * from the command line only), handed to {@link run} as
   * {@link CommandContext.prepared}. Undefined if there is none to begin.
   */
  prepare?(args: string[]): PreparedWork | undefined;
  run(context: CommandContext, args: string[]): Promise<CommandOutcome>;
}

/** Work a command began before connecting; stopped if the command never uses it. */
export interface PreparedWork {
  cancel(): void;
}

/** Parses `args` against boolean/string flags; unknown flags are a {@link UsageError}. */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  command: Pick<Command, "name" | "usage">,
  args: string[],
  options: O = {} as O,
  positionals: { min: number; max: number } = { min: 0, max: 0 },
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true as const });
  } catch (error) {
    const unknown = (error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
      ? unknownOptionWord(args, options)
      : undefined;
    const why = unknown === undefined ? (error as Error).message : unknownOptionMessage(unknown);
    throw new UsageError(`${why}; usage: ${command.usage}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    throw new UsageError(`usage: ${command.usage}`);
  }
  return parsed;
}

/** The first word before `--` that starts with "-" but is none of `options` (nor a cluster of them). */
function unknownOptionWord(args: string[], options: ParseArgsOptionsConfig): string | undefined {
  const shorts = new Map(Object.values(options).map((option) => [option.short, option.type]));
  for (const word of args) {
    if (word === "--") return undefined;
    if (!word.startsWith("-") || word === "-") continue;
    if (word.startsWith("--")) {
      if (!(word.slice(2).split("=")[0] in options)) return word;
      continue;
    }
    for (const letter of word.slice(1)) {
      const type = shorts.get(letter);
      if (type === undefined) return word;
      if (type === "string") break; // The rest of the word is its value.
    }
  }
  return undefined;
}

/**
 * What to say of an unknown option word: a short one (`-x`, `-rx`,
 * `--bogus`) is an unknown option; a longer one such as `-dash.txt` is most
 * likely a file name, and the message says how to pass one.
 */
function unknownOptionMessage(word: string): string {
  const optionLike = /^(-[a-zA-Z]{1,2}|--[a-z][a-z-]*)$/.test(word);
  if (optionLike) return `unknown option ${word}`;
  return `"${word}" looks like an option; to name a file that starts with "-", ` +
    `write ./${word} or put -- before it`;
}
