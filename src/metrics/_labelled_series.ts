/**
 * The series of one labelled family, keyed by their label values: what
 * {@link Counter} and {@link Histogram} keep their state in.
 *
 * @module
 */

import { assertLabelName, type Labels } from "./labels.ts";

/**
 * Series one family may hold. Label values come from small fixed sets (no
 * per-user labels), so reaching this is a bug; it must not cost unbounded memory.
 */
export const MAX_SERIES_PER_FAMILY = 1_000;

/** State per label set, for a fixed list of label names. */
export class LabelledSeries<State> {
  readonly labelNames: readonly string[];
  #series = new Map<string, { labels: Labels; state: State }>();
  #create: () => State;
  #family: string;

  constructor(family: string, labelNames: readonly string[], create: () => State) {
    labelNames.forEach(assertLabelName);
    if (new Set(labelNames).size !== labelNames.length) {
      throw new RangeError(`${family}: a label name appears twice`);
    }
    this.#family = family;
    this.labelNames = labelNames;
    this.#create = create;
  }

  /** The state of `labels` (exactly the family's label names), made on first use. */
  get(labels: Labels): State {
    const values = this.labelNames.map((name) => labels[name]);
    if (values.some((value) => typeof value !== "string")) {
      throw new RangeError(`${this.#family} takes the labels ${this.labelNames.join(", ")}`);
    }
    if (Object.keys(labels).length !== this.labelNames.length) {
      throw new RangeError(`${this.#family} takes only the labels ${this.labelNames.join(", ")}`);
    }
    const key = JSON.stringify(values);
    let entry = this.#series.get(key);
    if (!entry) {
      if (this.#series.size >= MAX_SERIES_PER_FAMILY) {
        throw new RangeError(`${this.#family} has ${MAX_SERIES_PER_FAMILY} series, the most kept`);
      }
      const ordered = Object.fromEntries(this.labelNames.map((name, at) => [name, values[at]]));
      entry = { labels: ordered, state: this.#create() };
      this.#series.set(key, entry);
    }
    return entry.state;
  }

  /** Every series, in the order they were first used. */
  entries(): { labels: Labels; state: State }[] {
    return [...this.#series.values()];
  }
}
