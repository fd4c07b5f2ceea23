/**
 * Value parsers for command-line options, shared by the server and client
 * commands. A bad value is a usage error (exit 2) naming the option.
 *
 * @module
 */

import { InvalidArgumentError, Option } from "commander";
import { type MetricsAddress, parseMetricsAddress } from "../metrics/metrics_address.ts";

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

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/** A byte count with an optional K, M, G or T suffix (powers of 1024), e.g. `500M`, `1.5G`. */
export function byteSize(value: string): number {
  const match = value.trim().match(/^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i);
  const bytes = match ? Math.floor(Number(match[1]) * SIZE_UNITS[match[2].toUpperCase()]) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new InvalidArgumentError("expected a size like 1048576, 500K, 20M or 1.5G");
  }
  return bytes;
}

/** An option taking seconds (stored in ms) whose help shows the default in seconds. */
export function secondsOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(seconds).default(
    defaultMs,
    `${defaultMs / 1000}`,
  );
}

/** `--metrics HOST:PORT` (see metrics_address.ts). */
export function metricsAddress(value: string): MetricsAddress {
  try {
    return parseMetricsAddress(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
