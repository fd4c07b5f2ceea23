/**
 * A counter or gauge whose value is read when it is scraped, from state the
 * program keeps anyway (open sessions, CPU time used): nothing to update.
 *
 * @module
 */

import { assertLabelName, assertMetricName } from "./labels.ts";
import type { FamilySnapshot, MetricFamily, ValueSeries } from "./metric_family.ts";

/** Options of {@link ValueFunc}. */
export interface ValueFuncOptions {
  type: "counter" | "gauge";
  name: string;
  help: string;
  /**
   * Reads the value now: one number for a family without labels, or its
   * series; no series (an empty list) where the value cannot be read.
   */
  read(): number | ValueSeries[] | Promise<number | ValueSeries[]>;
}

/**
 * A family read at scrape time.
 *
 * @example
 * ```ts
 * const open = new ValueFunc({ type: "gauge", name: "dfos_sessions_open", help: "Sessions.", read: () => 3 });
 * ```
 */
export class ValueFunc implements MetricFamily {
  readonly name: string;
  #options: ValueFuncOptions;

  constructor(options: ValueFuncOptions) {
    assertMetricName(options.name);
    this.name = options.name;
    this.#options = options;
  }

  async collect(): Promise<FamilySnapshot> {
    const { type, name, help } = this.#options;
    const read = await this.#options.read();
    const series = typeof read === "number" ? [{ labels: {}, value: read }] : read;
    for (const { labels } of series) Object.keys(labels).forEach(assertLabelName);
    return { type, name, help, series };
  }
}
