/**
 * Where the client's password comes from: `--password-file`, then
 * `DFOS_PASSWORD`, then a prompt without echo on a terminal; otherwise a
 * clear usage error. The password is never echoed or logged.
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

/** Reads one line from the terminal with echo off. Ctrl-C or Ctrl-D cancel. */
async function promptHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
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
