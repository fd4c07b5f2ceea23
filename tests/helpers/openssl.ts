/**
 * The openssl command line, for tests that make certificates or speak TLS
 * with an independent implementation. Tests that need it are ignored where
 * it is missing (`hasOpenssl`).
 *
 * @module
 */

/** Whether an `openssl` program is on PATH. */
export const hasOpenssl = await new Deno.Command("openssl", { args: ["version"], stdout: "null" })
  .output().then((result) => result.success, () => false);

/** Runs `openssl ARGS` with `stdin`; its exit code and what it printed (stdout, then stderr). */
export async function openssl(
  args: string[],
  stdin = "",
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

/** The arguments of `openssl req` for a new P-256 key written to `keyPath`, unencrypted. */
export function newEcKey(keyPath: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyPath];
}
