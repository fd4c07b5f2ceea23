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
  run(context: CommandContext, args: string[]): Promise<CommandOutcome>;
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
    throw new UsageError(`${(error as Error).message}; usage: ${command.usage}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    throw new UsageError(`usage: ${command.usage}`);
  }
  return parsed;
}
