/**
 * A counter the program increments: a value per label set that only goes up.
 *
 * @module
 */

import { LabelledSeries } from "./_labelled_series.ts";
import { assertMetricName, type Labels } from "./labels.ts";
import type { FamilySnapshot, MetricFamily } from "./metric_family.ts";

/** Options of {@link Counter}. */
export interface CounterOptions {
  /** The metric name; by the naming rules it ends in `_total`. */
  name: string;
  help: string;
  /** Label names, in the order they are written. Default: none. */
  labelNames?: readonly string[];
  /** Label sets shown (at 0) before anything is counted, so a rate starts from the first event. Default: none (the one series of a family without labels). */
  initial?: readonly Labels[];
}

/**
 * A monotonic counter.
 *
 * @example
 * ```ts
 * const logins = new Counter({ name: "dfos_logins_total", help: "Logins.", labelNames: ["result"] });
 * logins.inc({ result: "ok" });
 * ```
 */
export class Counter implements MetricFamily {
  readonly name: string;
  readonly help: string;
  #series: LabelledSeries<{ value: number }>;

  constructor(options: CounterOptions) {
    assertMetricName(options.name);
    this.name = options.name;
    this.help = options.help;
    this.#series = new LabelledSeries(options.name, options.labelNames ?? [], () => ({ value: 0 }));
    // A family without labels has its one series from the start; one with labels, those given.
    const initial = this.#series.labelNames.length === 0 ? [{}] : options.initial ?? [];
    for (const labels of initial) this.#series.get(labels);
  }

  /** Adds `amount` (finite, not negative; default 1) to the series of `labels`. */
  inc(labels: Labels = {}, amount = 1): void {
    if (!Number.isFinite(amount) || amount < 0) {
      throw new RangeError(`${this.name} cannot go up by ${amount}`);
    }
    this.#series.get(labels).value += amount;
  }

  /** The value of the series of `labels` (0 if never counted). */
  value(labels: Labels = {}): number {
    return this.#series.get(labels).value;
  }

  collect(): FamilySnapshot {
    const series = this.#series.entries().map(({ labels, state }) => ({
      labels,
      value: state.value,
    }));
    return { name: this.name, help: this.help, type: "counter", series };
  }
}
