/**
 * The benchmark's results: one Markdown table (time, throughput, server
 * RSS and DFOS's ratio to each other tool), the targets met or missed, and
 * the same in JSON.
 *
 * @module
 */

import type { WorkloadId } from "./workloads.ts";
import { OBJECT_STORE_DFOS } from "./dfos_object_tool.ts";
import { objectStoreNote } from "./object_store_report.ts";

/** One tool's outcome on one workload. */
export interface ToolResult {
  workload: WorkloadId;
  title: string;
  tool: string;
  /** `ok`, or why there is no number: "not installed", "failed: …". */
  status: string;
  bytes: number;
  /** Files in the workload's trees (0 for single files), for the CPU per file. */
  treeFiles: number;
  /** Seconds of every repetition. */
  runs: number[];
  /** Median of `runs`. */
  seconds?: number;
  /** Largest peak RSS of the server over the repetitions. */
  serverPeakRssBytes?: number;
  /** Server CPU seconds (user + system) of every repetition, when measured. */
  serverCpuSeconds: number[];
  /** Client CPU seconds (user + system, all client processes) of every repetition, when measured. */
  clientCpuSeconds: number[];
  /** The round-trip time the delaying relay added (latency workloads only), ms. */
  rttMs?: number;
  /** Set when a run was stopped at the time limit: the limit, seconds (the time took longer). */
  stoppedAtSeconds?: number;
}

/** A target from the project's goals, checked against this run. */
export interface TargetCheck {
  target: string;
  measured: string;
  /** undefined: not measured in this run. */
  met: boolean | undefined;
}

const DFOS = "DFOS";
const CEILING = "bare TLS socket";

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Bytes per second of a result, if it has a time. */
export function throughput(result: ToolResult | undefined): number | undefined {
  return result?.seconds ? result.bytes / result.seconds : undefined;
}

function find(results: ToolResult[], workload: WorkloadId, tool: string) {
  return results.find((result) => result.workload === workload && result.tool === tool);
}

/** DFOS throughput ÷ `tool` throughput on `workload`. */
export function dfosRatio(results: ToolResult[], workload: WorkloadId, tool: string) {
  const dfos = throughput(find(results, workload, DFOS));
  const other = throughput(find(results, workload, tool));
  return dfos && other ? dfos / other : undefined;
}

/**
 * E's aggregate throughput ÷ one client's (both DFOS): against E1, the same
 * job alone, or against A, one client streaming 1 GiB.
 */
export function concurrencyRatio(
  results: ToolResult[],
  baseline: "E1" | "A" = "E1",
): number | undefined {
  const aggregate = throughput(find(results, "E", DFOS));
  const single = throughput(find(results, baseline, DFOS));
  return aggregate && single ? aggregate / single : undefined;
}

/** The Markdown results table. */
export function resultsTable(results: ToolResult[]): string {
  const header = [
    "",
    "workload",
    "tool",
    "time (s)",
    "MB/s",
    "MiB/s",
    "server peak RSS",
    "CPU s client + server",
    "DFOS ÷ tool",
    "note",
  ];
  const rows = results.map((result, index) => {
    const first = index === 0 || results[index - 1].workload !== result.workload;
    const rate = throughput(result);
    const ratio = result.tool === DFOS
      ? undefined
      : dfosRatio(results, result.workload, result.tool);
    return [
      first ? result.workload : "",
      first ? result.title : "",
      result.tool,
      result.seconds === undefined ? "—" : result.seconds.toFixed(result.seconds < 10 ? 3 : 2),
      rate === undefined ? "—" : (rate / 1e6).toFixed(1),
      rate === undefined ? "—" : (rate / 2 ** 20).toFixed(1),
      result.serverPeakRssBytes === undefined ? "" : formatMegabytes(result.serverPeakRssBytes),
      cpuCell(result),
      ratio === undefined ? "" : `${ratio.toFixed(2)}×`,
      noteFor(results, result),
    ];
  });
  return markdown([header, ...rows]);
}

/** Median client and server CPU seconds, "1.23 + 2.34", where both were measured. */
function cpuCell(result: ToolResult): string {
  if (result.clientCpuSeconds.length === 0 || result.serverCpuSeconds.length === 0) return "";
  return `${median(result.clientCpuSeconds).toFixed(2)} + ${
    median(result.serverCpuSeconds).toFixed(2)
  }`;
}

/**
 * "CPU ÷ 2000 files: 230 µs client, 310 µs server": the medians divided by
 * the tree's files, the client's start and the login included.
 */
function cpuPerFile(result: ToolResult): string {
  if (result.clientCpuSeconds.length === 0 || result.serverCpuSeconds.length === 0) return "";
  const micros = (seconds: number[]) => Math.round(median(seconds) * 1e6 / result.treeFiles);
  return `CPU ÷ ${result.treeFiles} files: ${micros(result.clientCpuSeconds)} µs client, ${
    micros(result.serverCpuSeconds)
  } µs server`;
}

function noteFor(results: ToolResult[], result: ToolResult): string {
  if (result.status !== "ok") return result.status.split("\n")[0].slice(0, 160);
  if (result.tool === OBJECT_STORE_DFOS) return objectStoreNote(results, result);
  if (result.tool === DFOS && result.workload === "E") {
    const ratio = concurrencyRatio(results);
    return ratio === undefined ? "" : `aggregate = ${percent(ratio)} of one client's (E1)`;
  }
  if (result.tool === DFOS && result.treeFiles > 0) return cpuPerFile(result);
  if (result.tool === "rsync" && (result.workload === "C" || result.workload === "D")) {
    const ratio = dfosRatio(results, result.workload, "rsync");
    return ratio === undefined ? "" : `DFOS time = ${percent(1 / ratio)} of rsync's`;
  }
  return "";
}

/** Checks the project's performance targets against the results. */
export function checkTargets(results: ToolResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const at = (value: number | undefined, met: (value: number) => boolean, shown: string) => ({
    measured: value === undefined ? "not measured" : shown,
    met: value === undefined ? undefined : met(value),
  });
  for (const id of ["A", "B"] as const) {
    const ceiling = dfosRatio(results, id, CEILING);
    checks.push({
      target: `${id}: DFOS throughput ≥ 85% of the bare TLS socket`,
      ...at(ceiling, (value) => value >= 0.85, percent(ceiling ?? 0)),
    });
    const scp = dfosRatio(results, id, "scp");
    checks.push({
      target: `${id}: DFOS throughput ≥ 2.5× scp`,
      ...at(scp, (value) => value >= 2.5, `${(scp ?? 0).toFixed(2)}×`),
    });
  }
  for (const id of ["C", "D"] as const) {
    const ratio = dfosRatio(results, id, "rsync");
    const time = ratio === undefined ? undefined : 1 / ratio;
    checks.push({
      target: `${id}: DFOS time ≤ 50% of rsync's`,
      ...at(time, (value) => value <= 0.5, percent(time ?? 0)),
    });
  }
  const concurrency = concurrencyRatio(results);
  checks.push({
    target: "E: aggregate throughput ≥ 80% of one client doing the same job (E1)",
    ...at(concurrency, (value) => value >= 0.8, percent(concurrency ?? 0)),
  });
  const streaming = concurrencyRatio(results, "A");
  checks.push({
    target: "E: the same, against one client streaming 1 GiB (A)",
    ...at(streaming, (value) => value >= 0.8, percent(streaming ?? 0)),
  });
  const rss = find(results, "E", DFOS)?.serverPeakRssBytes;
  checks.push({
    target: "E: DFOS server peak RSS < 300 MB",
    ...at(rss, (value) => value < 300e6, formatMegabytes(rss ?? 0)),
  });
  return checks;
}

/** The targets as a Markdown table. */
export function targetsTable(checks: TargetCheck[]): string {
  const rows = checks.map((check) => [
    check.target,
    check.measured,
    check.met === undefined ? "n/a" : check.met ? "met" : "MISSED",
  ]);
  return markdown([["target", "measured", "result"], ...rows]);
}

function percent(value: number): string {
  return `${(value * 100).toFixed(0)}%`;
}

/** Bytes as decimal megabytes, e.g. "143.2 MB". */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * A Markdown table with aligned columns (numbers right-aligned), laid out
 * the way `deno fmt` lays out Markdown, so it can be pasted unchanged.
 */
export function markdown(rows: string[][]): string {
  const widths = rows[0].map((_, column) =>
    Math.max(1, ...rows.map((row) => [...row[column]].length))
  );
  const numeric = rows[0].map((_, column) =>
    rows.slice(1).some((row) => /^[\d.]+( MB|×)?$/.test(row[column]))
  );
  const pad = (text: string, column: number) => {
    const fill = " ".repeat(widths[column] - [...text].length);
    return numeric[column] ? fill + text : text + fill;
  };
  const line = (row: string[]) => `| ${row.map(pad).join(" | ")} |`;
  const rule = widths.map((width, column) =>
    numeric[column] ? `${"-".repeat(Math.max(1, width - 1))}:` : "-".repeat(width)
  );
  return [rows[0], rule, ...rows.slice(1)].map(line).join("\n");
}
