/**
 * Asks on the terminal whether to trust a server seen for the first time,
 * showing its certificate fingerprint, as SSH does for a new host key: any
 * answer but yes or no is asked again, and the end of input refuses.
 *
 * @module
 */

/** What an answer to the trust question means: undefined when it is neither yes nor no. */
export function trustAnswer(text: string): boolean | undefined {
  const answer = text.trim().toLowerCase();
  if (answer === "yes" || answer === "y") return true;
  if (answer === "no" || answer === "n") return false;
  return undefined;
}

/** Where the question goes and the answers come from; the terminal by default. */
export interface TrustDialogue {
  /** Shows text without a line break after it. */
  write(text: string): Promise<void>;
  /** One line of input without its line break; null at the end of input. */
  readLine(): Promise<string | null>;
}

/** Asked again after an answer that is neither yes nor no. */
export const ASK_AGAIN = "Please type 'yes' or 'no': ";

/** Resolves true when the user answers yes, false on no or at the end of input. */
export async function askToTrust(
  address: string,
  fingerprint: string,
  dialogue: TrustDialogue = TERMINAL,
): Promise<boolean> {
  await dialogue.write([
    `The authenticity of server ${address} can't be established.`,
    `Its certificate fingerprint is ${fingerprint}.`,
    "Compare it with the fingerprint the server printed at startup.",
    "Trust this server and remember it (yes/no)? ",
  ].join("\n"));
  for (;;) {
    const line = await dialogue.readLine();
    if (line === null) {
      await dialogue.write("\n");
      return false;
    }
    const answer = trustAnswer(line);
    if (answer !== undefined) return answer;
    await dialogue.write(ASK_AGAIN);
  }
}

/** Longest answer kept; the rest of a longer line is read and dropped. */
const MAX_ANSWER_BYTES = 1024;

/** The question on stderr, the answers from stdin (a terminal, in cooked mode). */
export const TERMINAL: TrustDialogue = {
  async write(text) {
    const bytes = new TextEncoder().encode(text);
    for (let offset = 0; offset < bytes.length;) {
      offset += await Deno.stderr.write(bytes.subarray(offset));
    }
  },
  async readLine() {
    const bytes: number[] = [];
    const buffer = new Uint8Array(1);
    for (;;) {
      if ((await Deno.stdin.read(buffer)) === null) {
        return bytes.length === 0 ? null : new TextDecoder().decode(new Uint8Array(bytes));
      }
      if (buffer[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes));
      if (bytes.length < MAX_ANSWER_BYTES) bytes.push(buffer[0]);
    }
  },
};
