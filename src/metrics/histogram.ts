/**
 * A histogram the program observes into: per label set, counts of
 * observations under fixed upper bounds, their sum and their number.
 *
 * @module
 */

import { LabelledSeries } from "./_labelled_series.ts";
import { assertMetricName, type Labels } from "./labels.ts";
import type { FamilySnapshot, MetricFamily } from "./metric_family.ts";

/** Options of {@link Histogram}. */
export interface HistogramOptions {
  /** The metric name, ending in its unit (`_seconds`, `_bytes`). */
  name: string;
  help: string;
  /** Upper bounds of the buckets, ascending and finite (`+Inf` is always added). */
  buckets: readonly number[];
  /** Label names, in the order they are written. Default: none. */
  labelNames?: readonly string[];
  /** Label sets shown (empty) before anything is observed. Default: none (the one series of a family without labels). */
  initial?: readonly Labels[];
}

interface Buckets {
  counts: number[];
  sum: number;
}

/**
 * A histogram with fixed buckets.
 *
 * @example
 * ```ts
 * const wait = new Histogram({ name: "dfos_wait_seconds", help: "Waits.", buckets: [0.1, 1, 10] });
 * wait.observe({}, 0.25);
 * ```
 */
export class Histogram implements MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  #series: LabelledSeries<Buckets>;

  constructor(options: HistogramOptions) {
    assertMetricName(options.name);
    const { buckets } = options;
    if (
      buckets.some((bound, at) => !Number.isFinite(bound) || (at > 0 && bound <= buckets[at - 1]))
    ) {
      throw new RangeError(`${options.name}: bucket bounds must be finite and ascending`);
    }
    const labelNames = options.labelNames ?? [];
    if (labelNames.includes("le")) {
      throw new RangeError(`${options.name}: "le" is the bucket's label`);
    }
    this.name = options.name;
    this.help = options.help;
    this.buckets = [...buckets];
    this.#series = new LabelledSeries(options.name, labelNames, () => ({
      counts: new Array(buckets.length + 1).fill(0),
      sum: 0,
    }));
    // A family without labels has its one series from the start; one with labels, those given.
    const initial = this.#series.labelNames.length === 0 ? [{}] : options.initial ?? [];
    for (const labels of initial) this.#series.get(labels);
  }

  /** Counts `value` (a finite number) in the series of `labels`. */
  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`${this.name} cannot observe ${value}`);
    const state = this.#series.get(labels);
    const index = this.buckets.findIndex((bound) => value <= bound);
    state.counts[index < 0 ? this.buckets.length : index]++;
    state.sum += value;
  }

  collect(): FamilySnapshot {
    const series = this.#series.entries().map(({ labels, state }) => ({
      labels,
      bounds: this.buckets,
      counts: [...state.counts],
      sum: state.sum,
    }));
    return { name: this.name, help: this.help, type: "histogram", series };
  }
}
