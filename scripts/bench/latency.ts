/**
 * The latency workloads (F–I): each at RTT 0 and at every round-trip time
 * of the run, through the delaying relay, with every tool that can take the
 * relay (DFOS, scp, sftp, rsync; not the bare TLS ceilings). The
 * repetitions take turns across the round-trip times (run 1 at 0, 20 and
 * 100 ms, then run 2, …), so a busy spell of the shared machine falls on
 * the baseline and the delayed runs alike. A run is stopped at the time
 * limit; a tool stopped at one round-trip time is not run again there, nor
 * at the longer ones of that workload, which could only take longer.
 *
 * @module
 */

import { emptyResult, measure, type MeasureDirs } from "./measure.ts";
import { median, type ToolResult } from "./report.ts";
import type { BenchTool, UnavailableTool, Workload, WorkloadId } from "./workloads.ts";

/** Options of {@link runLatencyWorkloads}. */
export interface LatencyOptions {
  /** Runs per workload, round-trip time and tool; the median is reported. */
  repeat: number;
  /** Seconds one run may take before it is stopped. */
  limitSeconds: number;
}

type Tool = BenchTool | UnavailableTool;

/**
 * Measures every latency workload with every relayed tool; results come in
 * the order of `workloads` (each workload's round-trip times ascending), tool by tool.
 */
export async function runLatencyWorkloads(
  workloads: Workload[],
  tools: Tool[],
  dirs: MeasureDirs,
  options: LatencyOptions,
): Promise<ToolResult[]> {
  const relayed = tools.filter((tool) => tool.relayed);
  const results: ToolResult[] = [];
  for (const id of [...new Set(workloads.map((workload) => workload.id))]) {
    const group = workloads.filter((workload) => workload.id === id)
      .sort((a, b) => (a.rttMs ?? 0) - (b.rttMs ?? 0));
    results.push(...await measureGroup(id, group, relayed, dirs, options));
  }
  return results;
}

/** One workload at all its round-trip times, the repetitions taking turns. */
async function measureGroup(
  id: WorkloadId,
  group: Workload[],
  tools: Tool[],
  dirs: MeasureDirs,
  options: LatencyOptions,
): Promise<ToolResult[]> {
  const rows = group.map((workload) => tools.map((tool) => emptyResult(tool, workload)));
  const stoppedAt = new Map<string, number>();
  for (let run = 1; run <= options.repeat; run++) {
    for (const [index, workload] of group.entries()) {
      console.error(`${id}: ${workload.title} (run ${run} of ${options.repeat})`);
      for (const [column, tool] of tools.entries()) {
        const row = rows[index][column];
        if (row.status !== "ok") continue;
        const stopped = stoppedAt.get(tool.name);
        if (stopped !== undefined && (workload.rttMs ?? 0) > stopped) {
          row.status = `not run: stopped at RTT ${stopped} ms`;
          continue;
        }
        const timeoutMs = options.limitSeconds * 1000;
        addRun(row, await measure(tool, workload, dirs, { repeat: 1, timeoutMs }));
        if (row.stoppedAtSeconds !== undefined) stoppedAt.set(tool.name, workload.rttMs ?? 0);
      }
    }
  }
  for (const row of rows.flat()) {
    if (row.status === "ok" && row.runs.length > 0) row.seconds = median(row.runs);
  }
  return rows.flat();
}

/** Adds one run's outcome to a row: its numbers, or the reason it has none. */
function addRun(row: ToolResult, run: ToolResult): void {
  row.runs.push(...run.runs);
  row.serverCpuSeconds.push(...run.serverCpuSeconds);
  row.clientCpuSeconds.push(...run.clientCpuSeconds);
  if (run.serverPeakRssBytes !== undefined) {
    row.serverPeakRssBytes = Math.max(row.serverPeakRssBytes ?? 0, run.serverPeakRssBytes);
  }
  if (run.status !== "ok") {
    row.status = run.status;
    if (run.stoppedAtSeconds !== undefined) row.stoppedAtSeconds = run.stoppedAtSeconds;
  }
}
