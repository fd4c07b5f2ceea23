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
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: Deno.Signal) => {
      serverLog.info("received {signal}", { signal });
      server.shutdown().then(resolve);
    };
    Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
    Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  });
  await Promise.race([stopped, server.finished]);
  await closeLogging();
  return 0;
}

function describeStartError(error: unknown, config: ServerConfig): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `port ${config.port} on ${config.host} is already in use`;
  }
  if (error instanceof Deno.errors.NotFound) return `users file ${config.usersFile} not found`;
  return error instanceof Error ? error.message : String(error);
}
