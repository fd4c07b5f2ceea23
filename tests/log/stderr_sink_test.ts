import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { MAX_QUEUED_BYTES, stderrSink } from "../../src/log/stderr_sink.ts";
import { infoRecord as record } from "../helpers/log_records.ts";

const formatter = (r: LogRecord) => `${r.message[0]}\n`;
const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join("");

Deno.test("lines reach stderr in order, whole, even through short writes", async () => {
  const written: Uint8Array[] = [];
  const sink = stderrSink({
    formatter,
    write: (bytes) => {
      const part = bytes.slice(0, 3); // At most 3 bytes a write.
      written.push(part);
      return Promise.resolve(part.length);
    },
  });
  for (const line of ["one", "two", "three ünïcode"]) sink(record(line));
  await sink[Symbol.asyncDispose]();
  assert.equal(text(written), "one\ntwo\nthree ünïcode\n");
});

Deno.test("a write that fails loses its line only: no rejection escapes, the next line says so", async () => {
  let rejections = 0;
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    rejections++;
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    const written: Uint8Array[] = [];
    let full = true; // A file on a full disk, at first.
    const sink = stderrSink({
      formatter,
      write: (bytes) => {
        if (full) return Promise.reject(new Error("No space left on device (os error 28)"));
        written.push(bytes.slice());
        return Promise.resolve(bytes.length);
      },
    });
    sink(record("lost one"));
    sink(record("lost two"));
    await sink[Symbol.asyncDispose]();
    full = false;
    sink(record("back"));
    await sink[Symbol.asyncDispose]();
    await new Promise((resolve) => setTimeout(resolve, 10)); // Room for a stray rejection to show.
    assert.equal(rejections, 0);
    assert.equal(
      text(written),
      "(2 log lines could not be shown: stderr fell behind or failed)\nback\n",
    );
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
});

Deno.test("while stderr does not take lines, at most its bound of bytes waits; the rest are counted", async () => {
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => release = resolve);
  const written: Uint8Array[] = [];
  const sink = stderrSink({
    formatter,
    write: async (bytes) => {
      await stuck;
      written.push(bytes.slice());
      return bytes.length;
    },
  });
  const line = "x".repeat(1023); // 1 KiB with its newline.
  const lines = MAX_QUEUED_BYTES / 1024 + 100;
  for (let index = 0; index < lines; index++) sink(record(line));
  release();
  await sink[Symbol.asyncDispose]();
  const shown = written.length;
  assert.ok(shown <= MAX_QUEUED_BYTES / 1024 + 1, `${shown} lines queued`);
  sink(record("after"));
  await sink[Symbol.asyncDispose]();
  const last = new TextDecoder().decode(written.at(-1));
  assert.match(last, new RegExp(`^\\(${lines - shown} log lines could not be shown`));
  assert.match(last, /\nafter\n$/);
});
