import assert from "node:assert/strict";
import { join } from "node:path";
import { readSmallLocalFile } from "../../src/client/transfer_bytes.ts";
import { LocalError } from "../../src/client/errors.ts";

Deno.test("a small local file is read whole with its mtime; a larger one is left to the streamed path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.bin");
    const bytes = new Uint8Array(5000).map((_, index) => index % 251);
    await Deno.writeFile(path, bytes);
    await Deno.utime(path, new Date(), new Date(1_600_000_000_123));
    const whole = readSmallLocalFile(path, 5000);
    assert.deepEqual(whole?.content, bytes);
    assert.equal(whole?.mtimeMs, 1_600_000_000_123);
    assert.equal(readSmallLocalFile(path, 4999), undefined);
    await Deno.writeFile(join(dir, "empty"), new Uint8Array());
    assert.equal(readSmallLocalFile(join(dir, "empty"), 10)?.content.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing file, a folder and a FIFO are refused clearly, the FIFO without waiting for a writer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(
      () => readSmallLocalFile(join(dir, "gone"), 10),
      (error) => error instanceof LocalError && /gone: no such local file/.test(error.message),
    );
    assert.throws(
      () => readSmallLocalFile(dir, 10),
      (error) => error instanceof LocalError && /not a regular file/.test(error.message),
    );
    const fifo = join(dir, "fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo");
    assert.throws(
      () => readSmallLocalFile(fifo, 10),
      (error) => error instanceof LocalError && /fifo: not a regular file/.test(error.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
