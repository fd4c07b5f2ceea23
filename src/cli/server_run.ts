/**
 * Running a server once its configuration is parsed: logging, the control
 * socket, the server itself, signals. Loaded only by `dfos server`, so the
 * client does not pay for loading the server's modules at every start.
 *
 * @module
 */

import { closeLogging, serverLog, setupServerLogging } from "../log/logging.ts";
import { startServer } from "../server/server.ts";
import type { ServerConfig } from "../server/server_config.ts";
import { assertDescriptorPathsWork } from "../storage/descriptor_paths.ts";
import { ControlServer } from "../control/control_server.ts";
import { controlHandlersFor } from "../control/control_handlers.ts";
import { controlSocketPath } from "../control/socket_path.ts";
import { GracefulStop, stopOnSignals } from "./graceful_stop.ts";
import { VERSION } from "./version.ts";

/** Serves until SIGINT, SIGTERM or `dfos server stop`; resolves to the exit code. */
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
  let control: ControlServer | undefined;
  try {
    // Refuse at once, not at the first login, where folders cannot be held open.
    assertDescriptorPathsWork();
    // Before the port: a second server on the same state folder is refused here.
    control = await ControlServer.open(controlSocketPath(config.stateDir));
    server = await startServer(config);
  } catch (error) {
    await control?.close();
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
  const stop = new GracefulStop(async () => {
    await Promise.all([announcement?.stop(), server.shutdown()]);
  });
  const signals = stopOnSignals(stop);
  control.serve(controlHandlersFor(server, config, stop, VERSION));
  logControlSocket(control);
  await Promise.race([stop.stopped, server.finished]);
  if (stop.started) await stop.stopped; // Its last steps follow the last connection's end.
  await announcement?.stop();
  // Waiting `dfos server stop`s hear the end now; their connections close as the process exits.
  await control.close();
  signals.quiet();
  await closeLogging();
  return 0;
}

function logControlSocket(control: ControlServer): void {
  if (control.replacedStale) {
    serverLog.info(
      "replaced the control socket {path} left by a server that did not stop cleanly",
      {
        path: control.path,
      },
    );
  }
  serverLog.info("control socket {path} (dfos server status, dfos server stop)", {
    path: control.path,
  });
}

function describeStartError(error: unknown, config: ServerConfig): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `port ${config.port} on ${config.host} is already in use`;
  }
  if (error instanceof Deno.errors.NotFound) return `users file ${config.usersFile} not found`;
  return error instanceof Error ? error.message : String(error);
}
