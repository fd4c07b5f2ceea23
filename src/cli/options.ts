/**
 * Value parsers for command-line options, shared by the server and client
 * commands. A bad value is a usage error (exit 2) naming the option.
 *
 * @module
 */

import { InvalidArgumentError } from "commander";

/** A whole number in [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

/** A duration in seconds (fractions allowed), returned in milliseconds. */
export function seconds(value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(number > 0) || number > 365 * 86400) {
    throw new InvalidArgumentError("expected a positive number of seconds");
  }
  return Math.round(number * 1000);
}

/** A TCP port (0 asks the system for a free one). */
export const port = integerIn(0, 65535);
