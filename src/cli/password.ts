/**
 * Where the client's password comes from: `--password-file`, then
 * `DFOS_PASSWORD`, then a prompt without echo on a terminal; otherwise a
 * clear usage error. The password is never echoed or logged.
 *
 * A new password (`dfos user add`/`passwd`) is typed twice on a terminal, or
 * read from the first line of stdin for scripts.
 *
 * @module
 */

import { UsageError } from "../client/errors.ts";

/** Options of {@link readPassword}. */
export interface PasswordSource {
  /** File whose first line is the password. */
  passwordFile?: string;
  /** Shown when prompting, e.g. "alice@10.0.0.5". */
  account: string;
}

/** Resolves the password from the first source that has one. */
export async function readPassword(source: PasswordSource): Promise<string> {
  if (source.passwordFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(source.passwordFile);
    } catch (error) {
      throw new UsageError(
        `cannot read password file ${source.passwordFile}: ${(error as Error).message}`,
      );
    }
    const password = text.split(/\r?\n/)[0];
    if (password === "") throw new UsageError(`password file ${source.passwordFile} is empty`);
    return password;
  }
  const fromEnvironment = Deno.env.get("DFOS_PASSWORD");
  if (fromEnvironment) return fromEnvironment;
  if (Deno.stdin.isTerminal()) return await promptHidden(`${source.account}'s password: `);
  throw new UsageError(
    "no password: use --password-file FILE, set DFOS_PASSWORD, or run on a terminal to be asked",
  );
}

/**
 * Reads a new password: on a terminal it is asked for twice without echo and
 * both must match; otherwise it is the first line of stdin. Throws a
 * {@link UsageError} when it is empty or the two entries differ.
 */
export async function readNewPassword(account: string): Promise<string> {
  let password: string;
  if (Deno.stdin.isTerminal()) {
    password = await promptHidden(`new password for ${account}: `);
    const repeated = await promptHidden(`repeat the new password for ${account}: `);
    if (repeated !== password) throw new UsageError("the two passwords do not match");
  } else {
    password = await readFirstLine(Deno.stdin.readable);
  }
  if (password === "") throw new UsageError("empty password refused");
  return password;
}

/** The text of `stream` up to its first line break (or its end), without the CR of a CRLF. */
async function readFirstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const reader = stream.getReader();
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.split("\n")[0].replace(/\r$/, "");
}

/**
 * Reads one line from the terminal with echo off. Ctrl-C or Ctrl-D cancel.
 * Echo goes off before the prompt shows, so a password typed ahead of it is not echoed either.
 */
async function promptHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    await Deno.stderr.write(encoder.encode(prompt));
    const buffer = new Uint8Array(1);
    for (;;) {
      const read = await Deno.stdin.read(buffer);
      const byte = buffer[0];
      if (read === null || byte === 3 || byte === 4) {
        throw new UsageError("password entry cancelled");
      }
      if (byte === 13 || byte === 10) break;
      if (byte === 127 || byte === 8) bytes.pop();
      else bytes.push(byte);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
