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
 * A server pays the same on its first accepted connection, between the
 * ClientHello and its answer: 31–37 ms there, so the first client after a
 * start waited that much longer for its login (traced: 37 ms from accept
 * to the server's hello, 6 ms with the setup done ahead).
 *
 * The key made is thrown away, never extractable; nothing is sent anywhere.
 *
 * @module
 */

/**
 * Whether `args` (the program's) will use TLS: a client command, or a
 * server started (not `server status` or `server stop`, which talk over its
 * local control socket), unless `--insecure-no-tls` is among its words (a
 * word naming a file so only costs the warm-up).
 */
export function usesTls(args: readonly string[]): boolean {
  if (args.includes("--insecure-no-tls")) return false;
  if (args[0] === "client") return true;
  return args[0] === "server" && !CONTROL_COMMANDS.has(args[1]);
}

/**
 * `server` subcommands that only talk to a running server's control socket
 * (tests/transport/tls_warmup_test.ts checks them against the command).
 */
const CONTROL_COMMANDS = new Set(["status", "stop", "help"]);

/**
 * Starts the cryptography library's initialisation on a blocking thread if
 * `args` will use TLS; settles when it is done, and never rejects (a
 * failure here only means the handshake pays for it).
 */
export function warmUpTls(args: readonly string[]): Promise<void> {
  if (!usesTls(args)) return Promise.resolve();
  try {
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
      .then(() => {}, () => {});
  } catch {
    return Promise.resolve();
  }
}
