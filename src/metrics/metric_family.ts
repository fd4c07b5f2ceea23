/**
 * What a metric family is to the exposition writer: a name, a help text, a
 * type, and the series it has at the moment it is collected.
 *
 * @module
 */

import type { Labels } from "./labels.ts";

/** The metric types DFOS exposes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One series of a counter or gauge. */
export interface ValueSeries {
  labels: Labels;
  value: number;
}

/** One series of a histogram: per-bucket counts (not cumulative) under ascending upper bounds. */
export interface HistogramSeries {
  labels: Labels;
  /** Upper bounds of the buckets, ascending, without +Inf. */
  bounds: readonly number[];
  /** Observations per bucket, `bounds.length + 1` of them (the last: above every bound). */
  counts: readonly number[];
  sum: number;
}

/** A family as collected at one scrape. */
export type FamilySnapshot =
  | { name: string; help: string; type: "counter" | "gauge"; series: ValueSeries[] }
  | { name: string; help: string; type: "histogram"; series: HistogramSeries[] };

/** Anything that can be collected into a {@link FamilySnapshot}. */
export interface MetricFamily {
  readonly name: string;
  /** The family's series now; may read the system (and so be async). */
  collect(): FamilySnapshot | Promise<FamilySnapshot>;
}
