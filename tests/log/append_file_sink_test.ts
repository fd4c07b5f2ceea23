import assert from "node:assert/strict";
import { join } from "node:path";
import { appendFileSink } from "../../src/log/append_file_sink.ts";
import { infoRecord as record } from "../helpers/log_records.ts";

Deno.test("each record is in the file as soon as the sink returns, in order, after what was there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-sink-" });
  try {
    const path = join(dir, "audit.log");
    await Deno.writeTextFile(path, "earlier\n", { mode: 0o600 });
    await Deno.chmod(path, 0o600);
    const sink = appendFileSink(path, { formatter: (r) => `${r.message[0]}\n` });
    sink(record("one"));
    assert.equal(await Deno.readTextFile(path), "earlier\none\n", "readable at once");
    sink(record("two ünïcode"));
    assert.equal(await Deno.readTextFile(path), "earlier\none\ntwo ünïcode\n");
    await sink[Symbol.asyncDispose]();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "an existing file keeps its mode");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a new log file is readable by its owner and group only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dfos-sink-" });
  try {
    const path = join(dir, "new.log");
    const sink = appendFileSink(path, { formatter: (r) => `${r.message[0]}\n` });
    sink(record("x"));
    await sink[Symbol.asyncDispose]();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    assert.equal(await Deno.readTextFile(path), "x\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
