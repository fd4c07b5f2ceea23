/**
 * The control socket's requests wired to a running server: `status` reads
 * its sessions and counters, `stop` begins the shutdown through the same
 * {@link StopSwitch} as SIGTERM.
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import type { RunningServer } from "../server/server.ts";
import type { ServerConfig } from "../server/server_config.ts";
import type { ControlHandlers } from "./control_server.ts";
import { buildStatus } from "./status_report.ts";

/** The server's one way to begin its shutdown (src/cli/graceful_stop.ts). */
export interface StopSwitch {
  readonly started: boolean;
  /** Begins the shutdown after `announce`; false if it had begun already. */
  begin(announce: () => void): boolean;
}

/** The handlers for `server`, started with `config`, stopped by `stop`. */
export function controlHandlersFor(
  server: RunningServer,
  config: ServerConfig,
  stop: StopSwitch,
  version: string,
): ControlHandlers {
  return {
    graceMs: config.shutdownGraceMs,
    status: () =>
      buildStatus({
        registry: server.sessions,
        metrics: server.metrics,
        pid: Deno.pid,
        version,
        host: config.host,
        port: server.port,
        maxClients: config.maxClients,
        maxQueue: config.maxQueue,
        stopping: stop.started,
      }),
    stop: () => {
      const began = stop.begin(() => serverLog.info("asked to stop over the control socket"));
      if (!began) {
        serverLog.info(
          "asked to stop over the control socket again; the shutdown is already under way",
        );
      }
      return { alreadyStopping: !began };
    },
  };
}
