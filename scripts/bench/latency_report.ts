/**
 * What the latency workloads show: each tool's time at every round-trip
 * time, and the number of round trips that time implies,
 * (time − time at RTT 0) ÷ RTT, both measured through the same relay in the
 * same run: from the medians, and from the fastest runs, which other work
 * on a shared machine disturbs least (it can only add time). A run stopped
 * at the time limit gives a lower bound.
 *
 * @module
 */

import { markdown, type ToolResult } from "./report.ts";
import type { WorkloadId } from "./workloads.ts";

/** The round trips one tool's time at one round-trip time implies. */
export interface ImpliedRoundTrips {
  workload: WorkloadId;
  tool: string;
  rttMs: number;
  /** (median time − median time at RTT 0) ÷ RTT; undefined when either time is missing. */
  roundTrips?: number;
  /** The same from the fastest run at each of the two RTTs. */
  roundTripsFastest?: number;
  /** True when the run was stopped at the limit: `roundTrips` is then a lower bound. */
  atLeast: boolean;
}

/** Round trips implied by every latency result with a round-trip time above 0. */
export function impliedRoundTrips(results: ToolResult[]): ImpliedRoundTrips[] {
  return results.filter((result) => (result.rttMs ?? 0) > 0).map((result) => {
    const rtt = result.rttMs! / 1000;
    const baseline = results.find((other) =>
      other.workload === result.workload && other.tool === result.tool && other.rttMs === 0
    );
    const implied: ImpliedRoundTrips = {
      workload: result.workload,
      tool: result.tool,
      rttMs: result.rttMs!,
      atLeast: result.seconds === undefined && result.stoppedAtSeconds !== undefined,
    };
    if (baseline?.seconds === undefined) return implied;
    if (implied.atLeast) {
      return { ...implied, roundTrips: (result.stoppedAtSeconds! - baseline.seconds) / rtt };
    }
    if (result.seconds === undefined) return implied;
    return {
      ...implied,
      roundTrips: (result.seconds - baseline.seconds) / rtt,
      roundTripsFastest: (Math.min(...result.runs) - Math.min(...baseline.runs)) / rtt,
    };
  });
}

/**
 * The Markdown table: a row per workload and tool, its median time at each
 * round-trip time, then the round trips each time above 0 implies.
 */
export function latencyTable(results: ToolResult[]): string {
  const rtts = [...new Set(results.map((result) => result.rttMs ?? 0))].sort((a, b) => a - b);
  const implied = impliedRoundTrips(results);
  const rows = rowKeys(results).map(({ workload, tool, title }, index, keys) => {
    const first = index === 0 || keys[index - 1].workload !== workload;
    const at = (rttMs: number) =>
      results.find((result) =>
        result.workload === workload && result.tool === tool && result.rttMs === rttMs
      );
    const times = rtts.map((rttMs) => timeCell(at(rttMs)));
    const trips = rtts.filter((rttMs) => rttMs > 0).map((rttMs) =>
      tripsCell(
        implied.find((entry) =>
          entry.workload === workload && entry.tool === tool && entry.rttMs === rttMs
        ),
      )
    );
    const notes = rtts.map(at).filter((result) => result && result.status !== "ok")
      .map((result) => `RTT ${result!.rttMs} ms: ${result!.status.split("\n")[0].slice(0, 100)}`);
    return [first ? workload : "", first ? title : "", tool, ...times, ...trips, notes.join("; ")];
  });
  const header = [
    "",
    "workload",
    "tool",
    ...rtts.map((rttMs) => `time at ${rttMs} ms (s)`),
    ...rtts.filter((rttMs) => rttMs > 0).map((rttMs) => `round trips at ${rttMs} ms (fastest)`),
    "note",
  ];
  return markdown([header, ...rows]);
}

/** One key per workload and tool, in the order the results came, with the title sans RTT. */
function rowKeys(results: ToolResult[]) {
  const keys: { workload: WorkloadId; tool: string; title: string }[] = [];
  for (const result of results) {
    if (keys.some((key) => key.workload === result.workload && key.tool === result.tool)) continue;
    keys.push({
      workload: result.workload,
      tool: result.tool,
      title: result.title.replace(/, RTT \d+ ms$/, ""),
    });
  }
  return keys;
}

function timeCell(result: ToolResult | undefined): string {
  if (result?.seconds !== undefined) {
    return result.seconds.toFixed(result.seconds < 10 ? 3 : 2);
  }
  if (result?.stoppedAtSeconds !== undefined) return `> ${result.stoppedAtSeconds}`;
  return "—";
}

/** "12.3 (10.1)": from the medians, and from the fastest runs; "> 2900" for a lower bound. */
function tripsCell(entry: ImpliedRoundTrips | undefined): string {
  if (entry?.roundTrips === undefined) return "—";
  const format = (value: number) => value.toFixed(Math.abs(value) < 100 ? 1 : 0);
  if (entry.atLeast) return `> ${format(entry.roundTrips)}`;
  const fastest = entry.roundTripsFastest;
  return fastest === undefined
    ? format(entry.roundTrips)
    : `${format(entry.roundTrips)} (${format(fastest)})`;
}
