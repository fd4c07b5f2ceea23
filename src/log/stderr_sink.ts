/**
 * A log sink for the readable lines on stderr that can neither fail nor
 * grow without bound. Lines are written in order, one write at a time,
 * without blocking the server's thread. A write that fails (stderr is a
 * file on a full disk, a closed pipe) loses that line and no other: the
 * next line is tried again. While stderr takes longer than the server
 * logs, at most {@link MAX_QUEUED_BYTES} wait; lines beyond are dropped.
 * The next line queued says how many were lost either way.
 *
 * LogTape's stream sink left a failed write as an unhandled rejection, and
 * the server logs an unhandled rejection to stderr: on a full disk that
 * was a loop that held the server's thread and memory for good.
 *
 * @module
 */

import type { LogRecord, Sink } from "@logtape/logtape";

/** Most bytes of lines waiting for stderr; further lines are dropped until it catches up. */
export const MAX_QUEUED_BYTES = 1024 * 1024;

/** Options of {@link stderrSink}. */
export interface StderrSinkOptions {
  /** Turns a record into one line (ending in a newline). */
  formatter: (record: LogRecord) => string;
  /** Where the bytes go. Default: `Deno.stderr.write`. */
  write?: (bytes: Uint8Array) => Promise<number>;
}

/** A sink writing lines to stderr; dispose it to wait for the lines still queued. */
export function stderrSink(options: StderrSinkOptions): Sink & AsyncDisposable {
  const write = options.write ?? ((bytes: Uint8Array) => Deno.stderr.write(bytes));
  const encoder = new TextEncoder();
  const queue: Uint8Array[] = [];
  let queuedBytes = 0;
  let dropped = 0;
  let draining: Promise<void> | undefined;

  const writeAll = async (bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) offset += await write(bytes.subarray(offset));
  };
  const drain = async () => {
    for (let bytes = queue.shift(); bytes !== undefined; bytes = queue.shift()) {
      queuedBytes -= bytes.length;
      try {
        await writeAll(bytes);
      } catch {
        dropped++; // Lost, as a line to a full disk is; the next line that gets out says so.
      }
    }
    draining = undefined;
  };
  const sink = (record: LogRecord) => {
    let text = options.formatter(record);
    if (dropped > 0) {
      const lines = dropped === 1 ? "1 log line" : `${dropped} log lines`;
      text = `(${lines} could not be shown: stderr fell behind or failed)\n${text}`;
    }
    const bytes = encoder.encode(text);
    if (queuedBytes + bytes.length > MAX_QUEUED_BYTES) {
      dropped++;
      return;
    }
    dropped = 0;
    queue.push(bytes);
    queuedBytes += bytes.length;
    draining ??= drain();
  };
  return Object.assign(sink, {
    async [Symbol.asyncDispose]() {
      await draining;
    },
  });
}
