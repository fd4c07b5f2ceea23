/**
 * `dfos client`: logs in, then runs one command (`dfos client put f`) or the
 * interactive shell. Every failure is one line on stderr,
 * `dfos: <what>: <why>`, and a documented exit code (see errors.ts).
 *
 * @module
 */

import { Command } from "commander";
import type { ClientConnection } from "../client/connection.ts";
import type { CommandContext } from "../client/commands.ts";
import { prepareCommand, runCommand } from "../client/commands.ts";
import { EXIT, exitCodeFor, reasonOf } from "../client/errors.ts";
import { DEFAULT_PORT } from "../protocol/constants.ts";
import { byteSize, port, secondsOption } from "./options.ts";
import { parseServerAddress } from "./host_address.ts";
import { RateLimiter } from "../shared/rate_limiter.ts";
import { printLine } from "../client/progress.ts";
import { logIn } from "./client_login.ts";
import { askToTrust } from "./trust_prompt.ts";
import { CommandInterrupt, onInterruptSignal } from "../client/interrupt.ts";
import { UsageError } from "../client/errors.ts";
import type { TrustMode } from "../transport/client_transport.ts";
import { parseFingerprint } from "../transport/certificate.ts";
import { defaultKnownHostsPath } from "../transport/known_hosts.ts";

const encoder = new TextEncoder();

/** Prints `dfos: <what>: <why>` on stderr. */
export function reportFailure(what: string, error: unknown): void {
  console.error(`dfos: ${what}: ${reasonOf(error)}`);
}

/** Builds the `client` subcommand; `onExit` receives the exit code. */
export function clientCommand(onExit: (code: number) => void): Command {
  return new Command("client")
    .description("log in to a DFOS server; run COMMAND, or an interactive shell without one")
    .argument("[command...]", "a shell command to run once, e.g. put report.pdf")
    .option(
      "--host <address>",
      "server address: HOST, HOST:PORT, [IPV6]:PORT (on a terminal, without --host and --port: pick one of the servers found on the network)",
      "127.0.0.1",
    )
    .option("--port <port>", "server port", port, DEFAULT_PORT)
    .option("-u, --user <name>", "user name (default: $DFOS_USER, then your login name)")
    .option("--password-file <file>", "read the password from the first line of FILE")
    .addOption(secondsOption("--timeout <seconds>", "limit for connecting and logging in", 15_000))
    .option("-q, --quiet", "no progress bars")
    .option("--known-hosts <file>", "servers trusted so far (default: ~/.config/dfos/known_hosts)")
    .option("--accept-new-host", "trust and remember a server seen for the first time")
    .option(
      "--fingerprint <SHA256:hex>",
      "trust the server only if its certificate has this fingerprint",
    )
    .option("--ca <file>", "trust certificates this CA (PEM) issued for --host, instead of pinning")
    .option("--insecure-no-tls", "plain TCP without encryption (the server must agree)")
    .option(
      "-C, --compress",
      "compress transfers with zstd (skipped for data that does not shrink)",
    )
    .option(
      "--limit-rate <rate>",
      "transfer at most RATE bytes per second, e.g. 500K, 50M",
      byteSize,
    )
    .passThroughOptions()
    .addHelpText("after", "\nRun `dfos client ... help` for the command list.")
    .action(async (words: string[], options: ClientFlags, command: Command) => {
      const flags = await chooseServer(options, command);
      onExit(flags ? await runClient(words, flags) : EXIT.USAGE);
    });
}

/**
 * The flags with the server to connect to: as given, or, for a person at a
 * terminal who named neither `--host` nor `--port`, one picked from the
 * servers found on the local network (README "Finding servers"). Undefined,
 * reported, when the address is wrong or no server was chosen.
 */
async function chooseServer(options: ClientFlags, command: Command) {
  const flags = withServerAddress(options, command);
  const named = command.getOptionValueSource("host") !== "default" ||
    command.getOptionValueSource("port") !== "default";
  if (!flags || named || !Deno.stdin.isTerminal()) return flags;
  const { offerDiscoveredServers } = await import("./server_picker.ts");
  const picked = await offerDiscoveredServers(flags, flags.knownHosts);
  if (!picked) {
    reportFailure("client", "no server chosen");
    return undefined;
  }
  return { ...flags, ...picked };
}

/** `options` with a port given in `--host` (`HOST:PORT`) moved to `port`; undefined, reported, if wrong. */
function withServerAddress(options: ClientFlags, command: Command): ClientFlags | undefined {
  const typedPort = command.getOptionValueSource("port") === "default" ? undefined : options.port;
  try {
    return { ...options, ...parseServerAddress(options.host, typedPort, DEFAULT_PORT) };
  } catch (error) {
    reportFailure("client", error);
    return undefined;
  }
}

interface ClientFlags {
  compress?: boolean;
  limitRate?: number;
  knownHosts?: string;
  acceptNewHost?: boolean;
  fingerprint?: string;
  ca?: string;
  insecureNoTls?: boolean;
  host: string;
  port: number;
  user?: string;
  passwordFile?: string;
  timeout: number;
  quiet?: boolean;
}

async function runClient(words: string[], flags: ClientFlags): Promise<number> {
  const user = flags.user ?? Deno.env.get("DFOS_USER") ?? Deno.env.get("USER") ??
    Deno.env.get("LOGNAME");
  if (!user) {
    reportFailure("client", "no user name: use --user or set DFOS_USER");
    return EXIT.USAGE;
  }
  let connection: ClientConnection;
  let connect: () => Promise<ClientConnection>;
  // Local work of the command (a sync's walk of its folder) goes on while the client connects.
  const prepared = words.length > 0 ? prepareCommand(words) : undefined;
  try {
    const trust = await trustFrom(flags);
    connect = () =>
      logIn({
        password: { passwordFile: flags.passwordFile, account: `${user}@${flags.host}` },
        connect: {
          host: flags.host,
          port: flags.port,
          user,
          trust,
          compress: flags.compress ?? false,
          timeoutMs: flags.timeout,
          onQueued: (position, waiting) => reportQueued(position, waiting, flags.quiet ?? false),
          onNotice: (message) => printLine(`dfos: server: ${message}`),
        },
      });
    connection = await connect();
  } catch (error) {
    prepared?.cancel();
    reportFailure(`${user}@${flags.host}:${flags.port}`, error);
    return exitCodeFor(error);
  }
  const context = commandContext(connection, user, flags);
  context.prepared = prepared;
  context.reconnect = async () => {
    await context.connection.close().catch(() => {});
    context.connection = await connect();
  };
  try {
    if (words.length === 0) {
      // Loaded only for the interactive shell (readline and its terminal handling).
      const { runShell } = await import("../client/shell.ts");
      return await runShell(context, reportFailure);
    }
    await runOnce(context, words);
    return EXIT.OK;
  } catch (error) {
    reportFailure(words[0], error);
    return exitCodeFor(error);
  } finally {
    prepared?.cancel();
    await context.connection.close();
  }
}

/**
 * Runs one command; Ctrl-C cancels it (a transfer keeps its partial, and the
 * command fails with a CancelledError, exit 130). A second Ctrl-C does not
 * wait for the first to wind down.
 */
async function runOnce(context: CommandContext, words: string[]): Promise<void> {
  const running = new CommandInterrupt();
  context.signal = running.signal;
  using _signal = onInterruptSignal(() => {
    if (running.interrupted) Deno.exit(EXIT.INTERRUPTED);
    running.interrupt();
  });
  await runCommand(context, words);
}

/** Says that the server keeps the client waiting: for a slot, or for its password check. */
function reportQueued(position: number, waiting: number, quiet: boolean): void {
  if (position > 0) {
    console.error(
      `dfos: server busy: waiting for a free slot (position ${position} of ${waiting})`,
    );
  } else if (!quiet) {
    // A slow login, not a refusal: shown like progress, so --quiet leaves it out.
    console.error(
      waiting > 0
        ? `dfos: server busy: waiting for the password check (place ${waiting} in line)`
        : "dfos: server busy: checking the password",
    );
  }
}

/** The trust mode the flags ask for. */
async function trustFrom(flags: ClientFlags): Promise<TrustMode> {
  const modes = [flags.insecureNoTls, flags.ca !== undefined, flags.fingerprint !== undefined]
    .filter(Boolean).length;
  if (modes > 1) {
    throw new UsageError("--insecure-no-tls, --ca and --fingerprint exclude each other");
  }
  if (flags.insecureNoTls) {
    console.error(
      "dfos: warning: TLS is off (--insecure-no-tls): password and files travel in clear",
    );
    return { kind: "insecure" };
  }
  if (flags.ca !== undefined) {
    const caPem = await Deno.readTextFile(flags.ca).catch((error) => {
      throw new UsageError(`cannot read CA file ${flags.ca}: ${error.message}`);
    });
    return { kind: "ca", caPem };
  }
  let expectedFingerprint: string | undefined;
  try {
    expectedFingerprint = flags.fingerprint === undefined
      ? undefined
      : parseFingerprint(flags.fingerprint);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    kind: "pinned",
    knownHostsPath: flags.knownHosts ?? defaultKnownHostsPath(),
    acceptNewHost: flags.acceptNewHost ?? false,
    expectedFingerprint,
    prompt: Deno.stdin.isTerminal() ? askToTrust : undefined,
  };
}

function commandContext(
  connection: ClientConnection,
  user: string,
  flags: ClientFlags,
): CommandContext {
  const writeOut = async (bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) {
      offset += await Deno.stdout.write(bytes.subarray(offset));
    }
  };
  return {
    connection,
    user,
    host: flags.host,
    cwd: "/",
    quiet: flags.quiet ?? false,
    limiter: flags.limitRate ? new RateLimiter(flags.limitRate) : undefined,
    print: (text) => writeOut(encoder.encode(text)),
    write: writeOut,
    warn: (text) => printLine(`dfos: ${text}`),
  };
}
