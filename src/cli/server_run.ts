/**
 * Running a server once its configuration is parsed: logging, the server
 * itself, signals. Loaded only by `dfos server`, so the client does not pay
 * for loading the server's modules at every start.
 *
 * @module
 */

import { closeLogging, serverLog, setupServerLogging } from "../log/logging.ts";
import { startServer } from "../server/server.ts";
import type { ServerConfig } from "../server/server_config.ts";
import { assertDescriptorPathsWork } from "../storage/descriptor_paths.ts";

/** Serves until SIGINT or SIGTERM; resolves to the exit code. */
export async function runServer(
  config: ServerConfig,
  flags: { quiet?: boolean; verbose?: boolean },
) {
  await setupServerLogging({ logDir: config.logDir, quiet: flags.quiet, verbose: flags.verbose });
  // A server must outlive a bug in one session: log a stray rejection instead of exiting.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    serverLog.error("unhandled rejection (a bug; the server keeps running): {error}", {
      error: String(event.reason?.stack ?? event.reason),
    });
  });
  let server;
  try {
    // Refuse at once, not at the first login, where folders cannot be held open.
    assertDescriptorPathsWork();
    server = await startServer(config);
  } catch (error) {
    serverLog.fatal("cannot start: {error}", { error: describeStartError(error, config) });
    await closeLogging();
    return 1;
  }
  // Loaded only when asked for: a server that is not announced opens no mDNS socket.
  const announcement = config.discoverable
    ? await (await import("../discovery/announce_server.ts")).announceServer(
      server,
      config.discoveryName,
    )
    : undefined;
  // The goodbye goes out as the shutdown begins: clients stop offering a closing server.
  const signals = stopOnSignals(async () => {
    await Promise.all([announcement?.stop(), server.shutdown()]);
  });
  await Promise.race([signals.stopped, server.finished]);
  signals.remove();
  await announcement?.stop();
  await closeLogging();
  return 0;
}

/**
 * One Ctrl-C can arrive twice: the terminal signals the whole process group,
 * and a launcher in it (`deno task`, a shell script) forwards the signal to
 * the server as well. Signals this soon after the first are that same event.
 */
const SAME_SIGNAL_MS = 1_000;

/**
 * Starts `shutdown` at the first SIGINT or SIGTERM, logging it once; a later
 * signal only says that the shutdown is under way. `stopped` resolves when
 * the shutdown has finished; `remove` takes the listeners away again.
 */
function stopOnSignals(shutdown: () => Promise<void>) {
  let first: number | undefined;
  let resolve: () => void = () => {};
  const stopped = new Promise<void>((done) => resolve = done);
  const onSignal = (signal: Deno.Signal) => {
    const now = performance.now();
    if (first === undefined) {
      first = now;
      serverLog.info("received {signal}", { signal });
      shutdown().then(resolve);
    } else if (now - first > SAME_SIGNAL_MS) {
      serverLog.info("received {signal} again; the shutdown is already under way", { signal });
    }
  };
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => onSignal(signal);
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  return { stopped, remove: () => listeners.forEach((remove) => remove()) };
}

function describeStartError(error: unknown, config: ServerConfig): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `port ${config.port} on ${config.host} is already in use`;
  }
  if (error instanceof Deno.errors.NotFound) return `users file ${config.usersFile} not found`;
  return error instanceof Error ? error.message : String(error);
}
