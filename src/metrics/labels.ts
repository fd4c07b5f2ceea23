/**
 * Metric and label names, and label sets as the Prometheus text format
 * writes them (`{name="value",...}`), with the format's escapes.
 *
 * @module
 */

/** A label set: label name → value. */
export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws a `RangeError` unless `name` is a valid metric name. */
export function assertMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new RangeError(`"${name}" is not a valid metric name`);
}

/** Throws a `RangeError` unless `name` is a valid label name (names starting `__` are reserved). */
export function assertLabelName(name: string): void {
  if (!LABEL_NAME.test(name) || name.startsWith("__")) {
    throw new RangeError(`"${name}" is not a valid label name`);
  }
}

/**
 * A label value as the text format writes it between double quotes:
 * backslash, double quote and line feed escaped.
 *
 * @example
 * ```ts
 * escapeLabelValue('a "b"\\c'); // 'a \\"b\\"\\\\c'
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (character) => ESCAPES[character]);
}

const ESCAPES: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n" };

/**
 * `{name="value",...}` in the order given, or "" for an empty set; `extra`
 * (a histogram bucket's `le`) goes last.
 *
 * @example
 * ```ts
 * formatLabels({ direction: "upload" }, ["le", "0.5"]); // '{direction="upload",le="0.5"}'
 * ```
 */
export function formatLabels(labels: Labels, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push([extra[0], extra[1]]);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}
