import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { jsonLinesWithPlainMessage } from "../../src/log/logging.ts";

function record(message: unknown[], properties: Record<string, unknown>): LogRecord {
  return {
    category: ["dfos", "server"],
    level: "info",
    message,
    rawMessage: "",
    properties,
    timestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
  };
}

Deno.test("a server.log line's message reads as a sentence, its values stay typed in properties", () => {
  const line = jsonLinesWithPlainMessage(
    record(["", "alice", " logged in from ", "127.0.0.1:5000", " (", 2, " sessions)"], {
      user: "alice",
      remote: "127.0.0.1:5000",
      count: 2,
    }),
  );
  assert.ok(line.endsWith("\n"));
  const parsed = JSON.parse(line);
  assert.equal(parsed.message, "alice logged in from 127.0.0.1:5000 (2 sessions)");
  assert.deepEqual(parsed.properties, { user: "alice", remote: "127.0.0.1:5000", count: 2 });
  assert.equal(parsed.level, "INFO");
  assert.equal(parsed["@timestamp"], "2026-01-02T03:04:05.000Z");
});

Deno.test("a value with a line break cannot start a line of its own in server.log", () => {
  const line = jsonLinesWithPlainMessage(record(["bad name ", "a\nb", ""], { name: "a\nb" }));
  assert.equal(line.split("\n").length, 2, "one line and its end");
  assert.equal(JSON.parse(line).message, "bad name a\nb");
});

Deno.test("a log line keeps LogTape's JSON lines fields, escapes C1 controls and survives odd values", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const error = new RangeError("too far");
  const line = jsonLinesWithPlainMessage(
    record(["size ", 10n, " \u009b31m"], { size: 10n, error, name: "\u009b31m" }),
  );
  assert.deepEqual(Object.keys(JSON.parse(line)), [
    "@timestamp",
    "level",
    "message",
    "logger",
    "properties",
  ]);
  assert.ok(!line.includes("\u009b"), "no raw 8-bit CSI in the file");
  const parsed = JSON.parse(line);
  assert.equal(parsed.message, "size 10 \u009b31m");
  assert.equal(parsed.logger, "dfos.server");
  assert.equal(parsed.properties.size, "10");
  assert.equal(parsed.properties.error.name, "RangeError");
  assert.equal(parsed.properties.error.message, "too far");
  const odd = JSON.parse(jsonLinesWithPlainMessage(record(["odd"], { cyclic })));
  assert.equal(odd.message, "odd");
  assert.match(odd.properties.unwritable, /circular/i);
});

Deno.test("a bigint or an error inside an object is written as it would be at the top", () => {
  const line = jsonLinesWithPlainMessage(
    record(["nested"], { detail: { size: 10n, error: new TypeError("bad") }, list: [1n] }),
  );
  const parsed = JSON.parse(line);
  assert.equal(parsed.properties.detail.size, "10");
  assert.equal(parsed.properties.detail.error.name, "TypeError");
  assert.equal(parsed.properties.detail.error.message, "bad");
  assert.deepEqual(parsed.properties.list, ["1"]);
});
