/**
 * What the benchmark says of DFOS on the object store against DFOS on the
 * local backend in the same run: its share of the local throughput, per
 * workload, and the targets (the large file's upload and download at least
 * 70% of the local backend's; the server's peak RSS under 300 MB).
 *
 * @module
 */

import { OBJECT_STORE_DFOS, OBJECT_STORE_WORKLOADS } from "./dfos_object_tool.ts";
import { dfosRatio, formatMegabytes, type TargetCheck, type ToolResult } from "./report.ts";
import type { WorkloadId } from "./workloads.ts";

/** The object store's throughput ÷ the local backend's on `workload`, if both ran. */
export function objectStoreShare(results: ToolResult[], workload: WorkloadId): number | undefined {
  const ratio = dfosRatio(results, workload, OBJECT_STORE_DFOS);
  return ratio === undefined ? undefined : 1 / ratio;
}

/** The note of an object-store row: its share of the local backend's throughput. */
export function objectStoreNote(results: ToolResult[], result: ToolResult): string {
  const share = objectStoreShare(results, result.workload);
  return share === undefined ? "" : `${(share * 100).toFixed(0)}% of DFOS (local)'s throughput`;
}

/** The object store's targets; none when it did not run. */
export function objectStoreTargets(results: ToolResult[]): TargetCheck[] {
  const rows = results.filter((result) =>
    result.tool === OBJECT_STORE_DFOS && result.status === "ok"
  );
  if (rows.length === 0) return [];
  const checks: TargetCheck[] = [];
  for (const id of ["A", "B"] as const) {
    const share = objectStoreShare(results, id);
    checks.push({
      target: `${id}: DFOS on the object store ≥ 70% of DFOS on the local backend`,
      measured: share === undefined ? "not measured" : `${(share * 100).toFixed(0)}%`,
      met: share === undefined ? undefined : share >= 0.7,
    });
  }
  const peaks = rows.filter((row) => OBJECT_STORE_WORKLOADS.includes(row.workload))
    .map((row) => row.serverPeakRssBytes ?? 0);
  const peak = Math.max(...peaks);
  checks.push({
    target: "A-D: DFOS server peak RSS on the object store < 300 MB",
    measured: formatMegabytes(peak),
    met: peak < 300e6,
  });
  return checks;
}
