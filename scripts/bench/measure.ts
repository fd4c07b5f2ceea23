/**
 * One tool on one workload, repeated: each run in a fresh scratch folder
 * (downloads staged there first, untimed), every copy verified by SHA-256,
 * the median kept. A failed run or a failed check ends the row with the
 * reason; a run stopped at its time limit ends it with the limit.
 *
 * @module
 */

import { join } from "node:path";
import { stageUnits, verifyCopy } from "./dataset.ts";
import { TimeLimitError } from "./processes.ts";
import { median, type ToolResult } from "./report.ts";
import {
  type BenchTool,
  type Measurement,
  type UnavailableTool,
  type Workload,
  workloadBytes,
  workloadTreeFiles,
} from "./workloads.ts";

/** Where runs read their data and make their scratch folders. */
export interface MeasureDirs {
  /** The data set (read-only). */
  dataDir: string;
  /** Parent of every run's scratch folder. */
  runsDir: string;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Runs; the median is reported. */
  repeat: number;
  /** Stop a run after this many ms (the row then says so). Default: the tools' own, 30 minutes. */
  timeoutMs?: number;
}

/** Runs one tool on one workload `options.repeat` times; verifies each copy. */
export async function measure(
  tool: BenchTool | UnavailableTool,
  workload: Workload,
  dirs: MeasureDirs,
  options: MeasureOptions,
): Promise<ToolResult> {
  const result = emptyResult(tool, workload);
  if ("unavailable" in tool) return { ...result, status: tool.unavailable };
  const { repeat } = options;
  for (let run = 1; run <= repeat; run++) {
    try {
      const measurement = await measureOnce(tool, workload, dirs, options.timeoutMs);
      record(result, measurement);
      console.error(`  ${label(workload, tool)} run ${run}/${repeat}: ${describe(measurement)}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`  ${label(workload, tool)} run ${run}/${repeat} FAILED: ${message}`);
      if (error instanceof TimeLimitError) {
        const status = `over ${error.limitSeconds} s: stopped`;
        return { ...result, status, stoppedAtSeconds: error.limitSeconds };
      }
      return { ...result, status: `failed: ${message}` };
    }
  }
  return { ...result, seconds: median(result.runs) };
}

/** A result with no runs yet (status "ok"), or with `status` saying why it has none. */
export function emptyResult(
  tool: BenchTool | UnavailableTool,
  workload: Workload,
  status = "ok",
): ToolResult {
  return {
    workload: workload.id,
    title: workload.title,
    tool: tool.name,
    status,
    bytes: workloadBytes(workload),
    treeFiles: workloadTreeFiles(workload),
    runs: [],
    serverCpuSeconds: [],
    clientCpuSeconds: [],
    ...(workload.rttMs === undefined ? {} : { rttMs: workload.rttMs }),
  };
}

function record(result: ToolResult, measurement: Measurement): void {
  result.runs.push(measurement.seconds);
  if (measurement.serverCpuSeconds !== undefined) {
    result.serverCpuSeconds.push(measurement.serverCpuSeconds);
  }
  if (measurement.clientCpuSeconds !== undefined) {
    result.clientCpuSeconds.push(measurement.clientCpuSeconds);
  }
  const rss = measurement.serverPeakRssBytes;
  if (rss !== undefined) {
    result.serverPeakRssBytes = Math.max(result.serverPeakRssBytes ?? 0, rss);
  }
}

function label(workload: Workload, tool: BenchTool): string {
  const rtt = workload.rttMs === undefined ? "" : ` RTT ${workload.rttMs} ms`;
  return `${workload.id}${rtt} ${tool.name}`;
}

function describe(measurement: Measurement): string {
  const { seconds, clientCpuSeconds: client, serverCpuSeconds: server } = measurement;
  return `${seconds.toFixed(3)} s` +
    (client === undefined ? "" : `, client CPU ${client.toFixed(2)} s`) +
    (server === undefined ? "" : `, server CPU ${server.toFixed(2)} s`);
}

async function measureOnce(
  tool: BenchTool,
  workload: Workload,
  dirs: MeasureDirs,
  timeoutMs: number | undefined,
): Promise<Measurement> {
  const runDir = await Deno.makeTempDir({ dir: dirs.runsDir, prefix: `${workload.id}-` });
  try {
    const paths = {
      dataDir: dirs.dataDir,
      runDir,
      remoteDir: tool.remoteDir(runDir),
      localDir: join(runDir, "local"),
    };
    await Deno.mkdir(paths.remoteDir, { recursive: true });
    await Deno.mkdir(paths.localDir, { recursive: true });
    if (workload.direction === "download") {
      await stageUnits(dirs.dataDir, paths.remoteDir, workload.units);
    }
    const measurement = await tool.run(workload, paths, { timeoutMs });
    const destination = workload.direction === "upload" ? paths.remoteDir : paths.localDir;
    await verifyCopy(destination, workload.units);
    return measurement;
  } finally {
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  }
}
