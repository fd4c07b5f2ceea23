/**
 * The Prometheus text exposition format, version 0.0.4: per family a
 * `# HELP` and a `# TYPE` line, then one line per sample; a histogram's
 * series as cumulative `_bucket{le="..."}` lines ending at `+Inf`, then
 * `_sum` and `_count`.
 *
 * @module
 */

import { formatLabels } from "./labels.ts";
import type { FamilySnapshot, HistogramSeries } from "./metric_family.ts";

/** The Content-Type of the text format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The text of `families`, in the order given; ends with a line feed.
 *
 * @example
 * ```ts
 * formatExposition([{
 *   name: "dfos_sessions_open",
 *   help: "Sessions open.",
 *   type: "gauge",
 *   series: [{ labels: {}, value: 2 }],
 * }]);
 * // "# HELP dfos_sessions_open Sessions open.\n# TYPE dfos_sessions_open gauge\ndfos_sessions_open 2\n"
 * ```
 */
export function formatExposition(families: readonly FamilySnapshot[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === "histogram") {
      for (const series of family.series) lines.push(...histogramLines(family.name, series));
    } else {
      for (const { labels, value } of family.series) {
        lines.push(`${family.name}${formatLabels(labels)} ${formatValue(value)}`);
      }
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function histogramLines(name: string, series: HistogramSeries): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  series.bounds.forEach((bound, index) => {
    cumulative += series.counts[index];
    const labels = formatLabels(series.labels, ["le", formatValue(bound)]);
    lines.push(`${name}_bucket${labels} ${cumulative}`);
  });
  cumulative += series.counts[series.bounds.length];
  lines.push(`${name}_bucket${formatLabels(series.labels, ["le", "+Inf"])} ${cumulative}`);
  lines.push(`${name}_sum${formatLabels(series.labels)} ${formatValue(series.sum)}`);
  lines.push(`${name}_count${formatLabels(series.labels)} ${cumulative}`);
  return lines;
}

/** A sample value as the format writes it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A help text on one line: backslash and line feed escaped. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (character) => character === "\\" ? "\\\\" : "\\n");
}
