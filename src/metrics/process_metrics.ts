/**
 * What the process itself uses, read at each scrape: CPU time, resident
 * memory, and when it started.
 *
 * The runtime grants /proc/self only to programs with every permission,
 * which DFOS does not ask for (see src/cli/permissions.ts), so these come
 * from the runtime's own calls (`getrusage` for CPU, the runtime's reading
 * of the resident set), and the number of open file descriptors, which only
 * /proc/self/fd tells, is not shown: `dfos_connections_open` against
 * `dfos_connections_max` (the bound derived from the open-file limit) is
 * what the server knows of its descriptors.
 *
 * @module
 */

import process from "node:process";
import { ValueFunc } from "./value_func.ts";
import type { MetricFamily } from "./metric_family.ts";

/** Where the process figures come from; the defaults are the real ones. */
export interface ProcessSources {
  /** CPU time used, µs. Default `process.cpuUsage`. */
  cpuUsage?: () => { user: number; system: number };
  /** Resident set size, bytes. Default `Deno.memoryUsage().rss`. */
  residentBytes?: () => number;
  /** When the process started, ms since the epoch. Default `performance.timeOrigin`. */
  startedAtMs?: number;
}

/** The `dfos_process_*` families. */
export function processFamilies(sources: ProcessSources = {}): MetricFamily[] {
  const cpuUsage = sources.cpuUsage ?? (() => process.cpuUsage());
  const residentBytes = sources.residentBytes ?? (() => Deno.memoryUsage().rss);
  const startedAtMs = sources.startedAtMs ?? performance.timeOrigin;
  return [
    new ValueFunc({
      type: "counter",
      name: "dfos_process_cpu_seconds_total",
      help: "CPU time the server process has used, user and system, in seconds.",
      read: () => {
        const { user, system } = cpuUsage();
        return (user + system) / 1e6;
      },
    }),
    new ValueFunc({
      type: "gauge",
      name: "dfos_process_resident_memory_bytes",
      help: "Resident memory of the server process, in bytes.",
      read: residentBytes,
    }),
    new ValueFunc({
      type: "gauge",
      name: "dfos_process_start_time_seconds",
      help: "When the server process started, in seconds since the Unix epoch.",
      read: () => Math.round(startedAtMs) / 1000,
    }),
  ];
}
