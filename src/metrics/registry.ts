/**
 * The families one endpoint shows, in the order they were registered, and
 * their text at a scrape.
 *
 * @module
 */

import { formatExposition } from "./exposition.ts";
import type { MetricFamily } from "./metric_family.ts";

/** Names the text format reserves for a histogram's own lines. */
const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];

/**
 * A set of metric families with distinct names.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * registry.register(new Counter({ name: "dfos_logins_total", help: "Logins." }));
 * const text = await registry.render();
 * ```
 */
export class MetricsRegistry {
  #families: MetricFamily[] = [];

  /** Adds `family`; a name already taken is a `RangeError`. Returns `family`. */
  register<T extends MetricFamily>(family: T): T {
    const clash = this.#families.find((other) =>
      other.name === family.name ||
      HISTOGRAM_SUFFIXES.some((suffix) =>
        other.name + suffix === family.name || family.name + suffix === other.name
      )
    );
    if (clash) throw new RangeError(`metric ${family.name} clashes with ${clash.name}`);
    this.#families.push(family);
    return family;
  }

  /** Every family's text now (the text exposition format). */
  async render(): Promise<string> {
    return formatExposition(await Promise.all(this.#families.map((family) => family.collect())));
  }
}
