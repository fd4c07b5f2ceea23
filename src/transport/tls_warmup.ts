/**
 * The first TLS connection of a process first initialises the runtime's
 * cryptography library: on our 2-core machines `Deno.startTls` took 40–60 ms
 * of CPU the first time, 0.3 ms every time after, whether or not a CA was
 * given. Any use of that library pays it once, and WebCrypto's ECDSA key
 * generation runs on one of the runtime's blocking threads. Started as the
 * program starts, that work overlaps the loading of the program's modules
 * (about 90 ms before a client connects) instead of standing between the TCP
 * connection and the TLS handshake: a one-shot client command measured
 * 140 → 86 ms from start to handshake done in a trial of that sequence.
 *
 * The key made is thrown away, never extractable; nothing is sent anywhere.
 *
 * @module
 */

/**
 * Whether `args` (the program's) will make a TLS connection: a client
 * command, unless `--insecure-no-tls` is among its words (a word naming a
 * file so only costs the warm-up).
 */
export function makesTlsConnection(args: readonly string[]): boolean {
  return args[0] === "client" && !args.includes("--insecure-no-tls");
}

/**
 * Starts the cryptography library's initialisation on a blocking thread if
 * `args` will make a TLS connection; settles when it is done, and never
 * rejects (a failure here only means the handshake pays for it).
 */
export function warmUpTls(args: readonly string[]): Promise<void> {
  if (!makesTlsConnection(args)) return Promise.resolve();
  try {
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
      .then(() => {}, () => {});
  } catch {
    return Promise.resolve();
  }
}
