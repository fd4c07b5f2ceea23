/**
 * What the benchmark measures: the workloads (A–E on loopback, F–I through
 * a relay that adds latency) and the one interface every tool under test
 * implements.
 *
 * Every workload moves "units": top-level names in the data folder, each a
 * file or a directory tree. An upload copies `dataDir/NAME` to the tool's
 * remote folder as `remoteDir/NAME`; a download copies `remoteDir/NAME`
 * (put there beforehand, untimed) to `localDir/NAME`. Units of a concurrent
 * workload are moved by separate processes started together.
 *
 * @module
 */

/**
 * A workload's letter. `E1` is E's baseline: one of E's clients alone, the
 * same job (start, log in, upload 10 MiB) that E runs 100 times at once.
 * F–I are the latency workloads: C's tree up (F) and down (G), one large
 * file up (H) and down (I), each at every round-trip time of the run.
 */
export type WorkloadId = "A" | "B" | "C" | "D" | "E1" | "E" | LatencyWorkloadId;

/** The letters of the workloads that run through the delaying relay. */
export type LatencyWorkloadId = "F" | "G" | "H" | "I";

/** The latency workloads' letters, in order. */
export const LATENCY_WORKLOAD_IDS: readonly LatencyWorkloadId[] = ["F", "G", "H", "I"];

/** All workload letters, in order. */
export const WORKLOAD_IDS: readonly WorkloadId[] = [
  "A",
  "B",
  "C",
  "D",
  "E1",
  "E",
  ...LATENCY_WORKLOAD_IDS,
];

/** One file of the data set, with the facts a copy is verified against. */
export interface FileEntry {
  /** Path relative to the data folder, e.g. `tree/d03/f00123.bin`. */
  path: string;
  size: number;
  /** SHA-256, lowercase hex. */
  sha256: string;
}

/** A top-level name moved as a whole: one file, or a directory tree (`-r`). */
export interface Unit {
  name: string;
  kind: "file" | "tree";
  /** Every file in the unit (one for a file unit). */
  files: FileEntry[];
}

/** One workload of the table. */
export interface Workload {
  id: WorkloadId;
  /** E.g. "1 GiB file upload". */
  title: string;
  direction: "upload" | "download";
  /** Units moved; one process per unit when `concurrent`, else one unit. */
  units: Unit[];
  concurrent: boolean;
  /**
   * When set, the client reaches its server through a delaying relay on
   * loopback that adds this round-trip time, ms (0: the relay without delay,
   * the baseline round trips are counted from). Unset: straight to the server.
   */
  rttMs?: number;
}

/** Folders of one measured run. */
export interface RunPaths {
  /** The source data set (read-only). */
  dataDir: string;
  /** Scratch space of this run; removed afterwards. */
  runDir: string;
  /** The tool's server side: uploads land here, downloads come from here. */
  remoteDir: string;
  /** Where downloads land. */
  localDir: string;
}

/** What one run of a tool measured. */
export interface Measurement {
  /** Wall time of the client process(es): first start to last exit. */
  seconds: number;
  /** Peak resident set size of the server process, when the tool has one of its own. */
  serverPeakRssBytes?: number;
  /** CPU seconds (user + system) the server process used while the client(s) ran (not its start-up). */
  serverCpuSeconds?: number;
  /** CPU seconds (user + system) the client process(es) used, start to exit. */
  clientCpuSeconds?: number;
}

/** Limits of one run. */
export interface RunOptions {
  /** Stop the client(s) after this many ms and reject with a `TimeLimitError`. Default 30 minutes. */
  timeoutMs?: number;
}

/** A tool under test: DFOS, the bare TLS ceiling, scp, sftp or rsync. */
export interface BenchTool {
  readonly name: string;
  /** Whether it can run a workload with `rttMs` (through the delaying relay). */
  readonly relayed: boolean;
  /** The remote folder for a run in `runDir` (created by the harness). */
  remoteDir(runDir: string): string;
  /**
   * Moves the workload's units, timed; the harness verifies the copy
   * afterwards. With `workload.rttMs` set, through a delaying relay.
   */
  run(workload: Workload, paths: RunPaths, options?: RunOptions): Promise<Measurement>;
}

/** A tool that could not be set up, and why ("not installed", …). */
export interface UnavailableTool {
  readonly name: string;
  /** Whether the tool would have run the latency workloads. */
  readonly relayed: boolean;
  readonly unavailable: string;
}

/** The number of files of a workload's trees (0 if it moves single files only). */
export function workloadTreeFiles(workload: Workload): number {
  return workload.units.reduce(
    (sum, unit) => sum + (unit.kind === "tree" ? unit.files.length : 0),
    0,
  );
}

/** Total bytes a workload moves. */
export function workloadBytes(workload: Workload): number {
  return workload.units.reduce(
    (sum, unit) => sum + unit.files.reduce((total, file) => total + file.size, 0),
    0,
  );
}
