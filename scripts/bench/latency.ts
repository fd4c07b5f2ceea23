/**
 * The latency workloads (F–I): each at RTT 0 and at every round-trip time
 * of the run, through the delaying relay, with every tool that can take the
 * relay (DFOS, scp, sftp, rsync; not the bare TLS ceilings). A run is stopped
 * at the time limit; a tool stopped at one round-trip time is not run at the
 * longer ones of that workload, which could only take longer.
 *
 * @module
 */

import { emptyResult, measure, type MeasureDirs } from "./measure.ts";
import type { ToolResult } from "./report.ts";
import type { BenchTool, UnavailableTool, Workload } from "./workloads.ts";

/** Options of {@link runLatencyWorkloads}. */
export interface LatencyOptions {
  /** Runs per workload, round-trip time and tool; the median is reported. */
  repeat: number;
  /** Seconds one run may take before it is stopped. */
  limitSeconds: number;
}

/**
 * Measures every latency workload (in the given order, each workload's
 * round-trip times ascending) with every relayed tool.
 */
export async function runLatencyWorkloads(
  workloads: Workload[],
  tools: (BenchTool | UnavailableTool)[],
  dirs: MeasureDirs,
  options: LatencyOptions,
): Promise<ToolResult[]> {
  const results: ToolResult[] = [];
  const stoppedAt = new Map<string, number>();
  const relayed = tools.filter((tool) => tool.relayed);
  for (const workload of workloads) {
    console.error(`${workload.id}: ${workload.title}`);
    for (const tool of relayed) {
      const key = `${workload.id} ${tool.name}`;
      const stopped = stoppedAt.get(key);
      if (stopped !== undefined) {
        results.push(emptyResult(tool, workload, `not run: stopped at RTT ${stopped} ms`));
        continue;
      }
      const result = await measure(tool, workload, dirs, {
        repeat: options.repeat,
        timeoutMs: options.limitSeconds * 1000,
      });
      if (result.stoppedAtSeconds !== undefined) stoppedAt.set(key, workload.rttMs ?? 0);
      results.push(result);
    }
  }
  return results;
}
