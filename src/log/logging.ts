/**
 * Server logging through LogTape. Three streams, each a category:
 *
 * | category          | goes to                                   |
 * |-------------------|-------------------------------------------|
 * | `dfos.server`     | readable lines on stderr, JSON lines in `server.log` |
 * | `dfos.audit`      | JSON lines in `audit.log` (and stderr at debug)      |
 * | `dfos.performance`| JSON lines in `server_performance.log`               |
 *
 * @module
 */

import {
  configure,
  dispose,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
} from "@logtape/logtape";
import { appendFileSink } from "./append_file_sink.ts";
import { stderrSink } from "./stderr_sink.ts";
import { join } from "node:path";

/** Options of {@link setupServerLogging}. */
export interface ServerLoggingOptions {
  /** Folder for the log files; created if missing. */
  logDir: string;
  /** Print debug events on stderr too. Default false. */
  verbose?: boolean;
  /** Print nothing on stderr. Default false. */
  quiet?: boolean;
}

/** File names inside the log folder. */
export const LOG_FILES = {
  events: "server.log",
  audit: "audit.log",
  performance: "server_performance.log",
} as const;

/** Configures the process-wide loggers for a server. Call {@link closeLogging} before exit. */
export async function setupServerLogging(options: ServerLoggingOptions): Promise<void> {
  await Deno.mkdir(options.logDir, { recursive: true, mode: 0o750 });
  // Every record is in its file as it happens (an audit record before the request is answered,
  // the performance sample a server writes as it becomes idle at once), on disk within a second.
  const file = (name: string) =>
    appendFileSink(join(options.logDir, name), { formatter: jsonLinesWithPlainMessage });
  const stderr = stderrSink({
    // Values inside a sentence without quotes: "alice logged in", not "\"alice\" logged in".
    formatter: getTextFormatter({ timestamp: "date-time-tz", category: ".", value: "bare" }),
  });
  await configure({
    reset: true,
    sinks: {
      stderr,
      events: file(LOG_FILES.events),
      audit: file(LOG_FILES.audit),
      performance: file(LOG_FILES.performance),
    },
    loggers: [
      {
        category: ["dfos", "server"],
        lowestLevel: options.verbose ? "debug" : "info",
        sinks: options.quiet ? ["events"] : ["events", "stderr"],
      },
      { category: ["dfos", "audit"], lowestLevel: "info", sinks: ["audit"] },
      { category: ["dfos", "performance"], lowestLevel: "info", sinks: ["performance"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
    filters: {},
  });
}

/**
 * JSON lines whose `message` reads as the sentence it is (values without
 * quotes, as on stderr); the values themselves are in `properties`. The
 * fields and their order are LogTape's JSON lines (`@timestamp`, `level`,
 * `message`, `logger`, `properties`), written with one `JSON.stringify`:
 * a server writes one audit line per request, and LogTape's formatter took
 * several times as long per line.
 */
export function jsonLinesWithPlainMessage(record: LogRecord): string {
  let message = "";
  for (let index = 0; index < record.message.length; index++) {
    const part = record.message[index];
    message += index % 2 === 0 || typeof part !== "object" || part === null
      ? String(part)
      : JSON.stringify(part);
  }
  const line = (properties: Record<string, unknown>) =>
    JSON.stringify(
      {
        "@timestamp": new Date(record.timestamp).toISOString(),
        level: record.level === "warning" ? "WARN" : record.level.toUpperCase(),
        message,
        logger: record.category.join("."),
        properties,
      },
      // A replacer is called for every key, and most records (every audit line) need none.
      allPlain(properties) ? undefined : plainValue,
    );
  let json: string;
  try {
    json = line(record.properties);
  } catch (error) {
    // A value that refers to itself: the line is still written, the reason in place of the values.
    json = line({ unwritable: String(error) });
  }
  return `${escapeC1Controls(json)}\n`;
}

/** Whether every value is one JSON writes as it is: a string, a number, a boolean, or null. */
function allPlain(properties: Record<string, unknown>): boolean {
  for (const key in properties) {
    const value = properties[key];
    const type = typeof value;
    if (type !== "string" && type !== "number" && type !== "boolean" && value !== null) {
      return false;
    }
  }
  return true;
}

/** What JSON has no form for, in one: an error as its name, message and stack; a bigint as digits. */
function plainValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (!(value instanceof Error)) return value;
  return { name: value.name, message: value.message, stack: value.stack };
}

/** DEL and U+0080–U+009F (8-bit CSI, OSC): JSON leaves them raw, a terminal reads them as controls. */
const C1_CONTROLS = /[\u007f-\u009f]/g;

function escapeC1Controls(json: string): string {
  C1_CONTROLS.lastIndex = 0;
  if (!C1_CONTROLS.test(json)) return json;
  return json.replace(
    C1_CONTROLS,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Flushes and closes every sink. */
export async function closeLogging(): Promise<void> {
  await dispose();
}

/** Logger for server events. */
export const serverLog: Logger = getLogger(["dfos", "server"]);
/** Logger for audit records: one per security-relevant event. */
export const auditLog: Logger = getLogger(["dfos", "audit"]);
/** Logger for periodic performance samples. */
export const performanceLog: Logger = getLogger(["dfos", "performance"]);
