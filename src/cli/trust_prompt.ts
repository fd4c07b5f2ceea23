/**
 * Asks on the terminal whether to trust a server seen for the first time,
 * showing its certificate fingerprint, as SSH does for a new host key.
 *
 * @module
 */

/** Resolves true when the user answers "yes". */
export async function askToTrust(address: string, fingerprint: string): Promise<boolean> {
  const question = [
    `The authenticity of server ${address} can't be established.`,
    `Its certificate fingerprint is ${fingerprint}.`,
    "Compare it with the fingerprint the server printed at startup.",
    "Trust this server and remember it (yes/no)? ",
  ].join("\n");
  await Deno.stderr.write(new TextEncoder().encode(question));
  const answer = await readLine();
  return /^y(es)?$/i.test(answer.trim());
}

/** One line from standard input (without the newline); "" at end of input. */
async function readLine(): Promise<string> {
  const bytes: number[] = [];
  const buffer = new Uint8Array(1);
  while ((await Deno.stdin.read(buffer)) !== null && buffer[0] !== 10) bytes.push(buffer[0]);
  return new TextDecoder().decode(new Uint8Array(bytes));
}
