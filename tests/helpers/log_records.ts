/**
 * The log records a category writes at info and above while a test's body
 * runs, kept in memory; logging is reset afterwards.
 *
 * @module
 */

import { configure, type LogRecord, reset } from "@logtape/logtape";

/** The records of `category` (default the server's events) while `body` runs. */
export async function logRecordsDuring(
  body: () => Promise<void> | void,
  category: string[] = ["dfos", "server"],
): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record) => records.push(record) },
    loggers: [
      { category, lowestLevel: "info", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await body();
  } finally {
    await reset();
  }
  return records;
}

/** A plain info record saying `message`, for a sink under test. */
export function infoRecord(message: string): LogRecord {
  return {
    category: ["dfos", "test"],
    level: "info",
    message: [message],
    rawMessage: message,
    timestamp: Date.now(),
    properties: {},
  };
}
