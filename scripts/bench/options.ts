/**
 * The benchmark's command line.
 *
 * @module
 */

import { Command, InvalidArgumentError } from "commander";
import { WORKLOAD_IDS, type WorkloadId } from "./workloads.ts";

/** Tools the benchmark knows, by the name `--tools` takes. */
export const TOOL_KEYS = [
  "dfos",
  "dfos-s3",
  "ceiling",
  "ceiling-sha256",
  "scp",
  "sftp",
  "rsync",
] as const;
export type ToolKey = typeof TOOL_KEYS[number];

/**
 * The tools run unless `--tools` says otherwise: all but `dfos-s3` (DFOS on
 * radosgw and PostgreSQL, started for it: A-D only, see dfos_object_tool.ts).
 */
export const DEFAULT_TOOLS: readonly ToolKey[] = TOOL_KEYS.filter((key) => key !== "dfos-s3");

/** What to run. */
export interface BenchOptions {
  /** Size of the big file (A, B) in MiB. Default 1024. */
  sizeMib: number;
  /** Number of 4 KiB files (C, D, F, G). Default 2000. */
  smallFiles: number;
  /** Concurrent clients (E). Default 100. */
  clients: number;
  /** Workloads to run. Default all. */
  only: WorkloadId[];
  /** Tools to run. Default {@link DEFAULT_TOOLS}. */
  tools: ToolKey[];
  /** Runs per workload and tool; the median is reported. Default 1. */
  repeat: number;
  /** Round-trip times the latency workloads (F–I) run at, besides 0, in ms. Default 20 and 100. */
  rttMs: number[];
  /** Size of the large file of H and I, in MiB. Default 64. */
  latencySizeMib: number;
  /** Runs per latency workload, round-trip time and tool; the median is reported. Default 3. */
  latencyRepeat: number;
  /**
   * Seconds one run of a latency workload may take before it is stopped; a
   * tool stopped at one round-trip time is not run at longer ones. Default 60.
   */
  latencyLimitSeconds: number;
  /** Install openssh-server, openssh-client and rsync with apt-get if missing. Default true. */
  install: boolean;
  /** Where the JSON results go. Default bench-results.json in a new temp folder. */
  out?: string;
}

function positive(max: number) {
  return (value: string) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < 1 || number > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    }
    return number;
  };
}

function rttList(value: string): number[] {
  const items = value.split(",").map((item) => item.trim()).filter(Boolean);
  const numbers = items.map(Number);
  if (items.length === 0 || !items.every((item) => /^\d+$/.test(item))) {
    throw new InvalidArgumentError("expected a comma-separated list of whole milliseconds");
  }
  if (numbers.some((number) => number < 1 || number > 10_000)) {
    throw new InvalidArgumentError("expected round-trip times from 1 to 10000 ms (0 always runs)");
  }
  return [...new Set(numbers)].sort((a, b) => a - b);
}

function listOf<T extends string>(allowed: readonly T[], upper: boolean) {
  return (value: string): T[] => {
    const items = value.split(",").map((item) => item.trim()).filter(Boolean)
      .map((item) => upper ? item.toUpperCase() : item.toLowerCase());
    const unknown = items.filter((item) => !allowed.includes(item as T));
    if (unknown.length > 0 || items.length === 0) {
      throw new InvalidArgumentError(`expected a comma-separated list of ${allowed.join(", ")}`);
    }
    return allowed.filter((item) => items.includes(item));
  };
}

/** Parses the benchmark's arguments (exits with usage on a bad one). */
export function parseBenchOptions(args: string[]): BenchOptions {
  const program = new Command("bench")
    .description(
      "DFOS benchmark on loopback: DFOS vs a bare TLS socket, scp, sftp and rsync (files on tmpfs)",
    )
    .option("--size-mib <n>", "size of the big file for A and B, in MiB", positive(1 << 20), 1024)
    .option(
      "--small-files <n>",
      "number of 4 KiB files for C, D, F and G",
      positive(1_000_000),
      2000,
    )
    .option("--clients <n>", "concurrent clients for E, 10 MiB each", positive(1000), 100)
    .option("--only <list>", "workloads to run, e.g. A,B", listOf(WORKLOAD_IDS, true), [
      ...WORKLOAD_IDS,
    ])
    .option("--tools <list>", `tools to run (${TOOL_KEYS.join(",")})`, listOf(TOOL_KEYS, false), [
      ...DEFAULT_TOOLS,
    ])
    .option("--repeat <n>", "runs per workload and tool; the median is reported", positive(100), 1)
    .option("--rtt-ms <list>", "round-trip times of F-I besides 0, in ms", rttList, [20, 100])
    .option(
      "--latency-size-mib <n>",
      "size of the large file for H and I, in MiB",
      positive(1 << 20),
      64,
    )
    .option("--latency-repeat <n>", "runs of F-I per round-trip time and tool", positive(100), 3)
    .option("--latency-limit-seconds <n>", "seconds one run of F-I may take", positive(86_400), 60)
    .option("--no-install", "do not apt-get install openssh-server, openssh-client, rsync")
    .option("--out <file>", "where to write the JSON results")
    .parse(args, { from: "user" });
  return program.opts<BenchOptions>();
}
