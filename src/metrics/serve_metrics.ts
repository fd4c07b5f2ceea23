/**
 * Starting the metrics endpoint of a server: bound where `--metrics` says,
 * announced in the server log, with a warning when other machines can reach
 * it (it needs no login).
 *
 * @module
 */

import { serverLog } from "../log/logging.ts";
import { isLoopbackAddress } from "../auth/demo_passwords.ts";
import type { DfosMetrics } from "./dfos_metrics.ts";
import { formatMetricsAddress, type MetricsAddress } from "./metrics_address.ts";
import { MetricsEndpoint } from "./metrics_endpoint.ts";

/**
 * Serves `metrics` at `address`; throws an `Error` naming the address when
 * it cannot be bound (in use, not an address of this machine).
 */
export function serveMetrics(address: MetricsAddress, metrics: DfosMetrics): MetricsEndpoint {
  let endpoint: MetricsEndpoint;
  try {
    endpoint = MetricsEndpoint.open(address, metrics);
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(`cannot serve metrics on ${formatMetricsAddress(address)}: ${reason}`);
  }
  const bound = formatMetricsAddress(endpoint.address);
  serverLog.info("metrics on http://{address}/metrics, health on http://{address}/healthz", {
    address: bound,
  });
  if (!isLoopbackAddress(endpoint.address.hostname)) {
    serverLog.warn(
      "the metrics endpoint {address} is not on loopback and needs no login: whoever can reach it sees the server's activity; bind it to 127.0.0.1 or keep others out with a firewall",
      { address: bound },
    );
  }
  return endpoint;
}
