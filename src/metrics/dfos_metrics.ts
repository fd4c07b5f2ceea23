/**
 * Every metric a DFOS server shows, under one `dfos_` prefix, in base units,
 * with no per-user label (label values come from small fixed sets): build,
 * sessions, queue and connections, logins and lockouts, password-check
 * waits, requests and transfers, and the process.
 *
 * @module
 */

import { LOGIN_RESULTS, type ServerMetrics } from "../server/metrics.ts";
import { VERSION } from "../cli/version.ts";
import { Histogram } from "./histogram.ts";
import type { MetricFamily } from "./metric_family.ts";
import { processFamilies } from "./process_metrics.ts";
import { MetricsRegistry } from "./registry.ts";
import { RequestMetrics } from "./request_metrics.ts";
import { ValueFunc } from "./value_func.ts";

/** Upper bounds of the password-check wait buckets, seconds: a free slot to past the longest wait. */
export const CHECK_WAIT_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The server's metrics: running totals read from `server` at each scrape,
 * requests counted from the change feed ({@link DfosMetrics.requests}), and
 * password-check waits as they are told ({@link DfosMetrics.observeCheckWait}).
 */
export class DfosMetrics {
  readonly registry = new MetricsRegistry();
  readonly requests = new RequestMetrics();
  readonly checkWait = new Histogram({
    name: "dfos_password_check_wait_seconds",
    help: "How long logins waited for their turn at a password check, in seconds.",
    buckets: CHECK_WAIT_BUCKETS,
  });

  constructor(server: ServerMetrics) {
    const families = [
      ...serverFamilies(server),
      this.checkWait,
      ...this.requests.families,
      ...processFamilies(),
    ];
    for (const family of families) this.registry.register(family);
  }

  /** Takes one password check's wait for its turn, ms. */
  readonly observeCheckWait = (waitedMs: number): void => {
    this.checkWait.observe({}, waitedMs / 1000);
  };

  /** The text of every metric now. */
  render(): Promise<string> {
    return this.registry.render();
  }
}

/** The families read from the server's running totals. */
function serverFamilies(server: ServerMetrics): MetricFamily[] {
  const gauge = (name: string, help: string, read: () => number) =>
    new ValueFunc({ type: "gauge", name, help, read });
  return [
    new ValueFunc({
      type: "gauge",
      name: "dfos_build_info",
      help: "Always 1; the labels say which DFOS and Deno serve.",
      read: () => [{ labels: { version: VERSION, deno_version: Deno.version.deno }, value: 1 }],
    }),
    gauge("dfos_sessions_open", "Sessions logged in now.", () => server.sessions),
    gauge(
      "dfos_queue_length",
      "Connections waiting in the queue for a session slot.",
      () => server.queued,
    ),
    gauge(
      "dfos_connections_open",
      "Connections held now, logged in or not (each holds a file descriptor).",
      () => server.connections,
    ),
    gauge(
      "dfos_connections_max",
      "The most connections held at once, derived from the open-file limit.",
      () => server.maxConnections,
    ),
    new ValueFunc({
      type: "counter",
      name: "dfos_logins_total",
      help: "Logins by result (a wrong password and an unknown user are both bad_credentials).",
      read: () =>
        LOGIN_RESULTS.map((result) => ({ labels: { result }, value: server.logins[result] })),
    }),
    new ValueFunc({
      type: "counter",
      name: "dfos_lockouts_total",
      help: "Lockouts begun after too many failed logins, by what they lock (user or address).",
      read: () =>
        (["user", "address"] as const).map((scope) => ({
          labels: { scope },
          value: server.lockouts[scope],
        })),
    }),
  ];
}
