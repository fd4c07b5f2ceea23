/**
 * Rate limits hold: the client's --limit-rate, and the server's per-user
 * bandwidth and request limits, fair between users. Rates are taken from
 * the server's audit record of each transfer (bytes ÷ duration), over a few
 * seconds, and must be within 15% of the limit.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  readAudit,
  runClient,
  spawnClient,
  startServer,
  type TestServer,
  waitFor,
} from "../helpers/processes.ts";
import { writeLargeFile } from "../helpers/files.ts";

const MIB = 1024 * 1024;

async function transferRates(server: TestServer, event: string): Promise<Map<string, number>> {
  const rates = new Map<string, number>();
  for (const record of await readAudit(server)) {
    if (record.event !== event || record.result !== "ok") continue;
    const rate = (record.bytes as number) / ((record.durationMs as number) / 1000);
    rates.set(String(record.user), rate);
  }
  return rates;
}

async function sizeOf(path: string): Promise<number> {
  return await Deno.stat(path).then((info) => info.size, () => 0);
}

/**
 * The limit holds (never more than 15% over it), and pacing does not throttle
 * far below it. The lower bound is loose on purpose: a machine busy with other
 * tests can be slower than any limit, which says nothing about the pacing.
 */
function assertNear(actual: number, limit: number, what: string) {
  const ratio = actual / limit;
  assert.ok(
    ratio > 0.6 && ratio < 1.15,
    `${what}: ${(actual / MIB).toFixed(2)} MiB/s vs ${limit / MIB}`,
  );
}

Deno.test("--limit-rate holds (at most 15% over) for uploads and downloads", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await writeLargeFile(join(local, "f.bin"), 16 * MIB, 5);
  assert.equal(
    (await runClient(server, ["--limit-rate=4M", "put", "f.bin"], { cwd: local })).code,
    0,
  );
  assertNear((await transferRates(server, "upload")).get("alice")!, 4 * MIB, "upload");
  // A download is paced by the client's reading: measure where it is paced, at the client's
  // partial file (the server's own view includes what sits in socket buffers).
  const partial = join(local, ".g.bin.dfos-part");
  const get = spawnClient(server, ["--limit-rate=4M", "get", "f.bin", "g.bin"], { cwd: local });
  await waitFor(async () => (await sizeOf(partial)) >= 2 * MIB, 20_000, "the download to run");
  const [size1, time1] = [await sizeOf(partial), performance.now()];
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const [size2, time2] = [await sizeOf(partial), performance.now()];
  assertNear((size2 - size1) / ((time2 - time1) / 1000), 4 * MIB, "download");
  assert.equal(await get.finish(), 0, get.stderr());
  const bad = await runClient(server, ["--limit-rate=fast", "pwd"]);
  assert.equal(bad.code, 2);
  await Deno.remove(local, { recursive: true });
});

Deno.test("the server's per-user bandwidth limit holds for each user at once, fairly", async () => {
  await using server = await startServer(["--user-rate-limit=3M"]);
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await writeLargeFile(join(local, "f.bin"), 12 * MIB, 6);
  const [alice, bob] = await Promise.all([
    runClient(server, ["put", "f.bin"], { cwd: local }),
    runClient(server, ["put", "f.bin"], { cwd: local, user: "bob" }),
  ]);
  assert.equal(alice.code, 0, alice.stderr);
  assert.equal(bob.code, 0, bob.stderr);
  const rates = await transferRates(server, "upload");
  assertNear(rates.get("alice")!, 3 * MIB, "alice, alongside bob");
  assertNear(rates.get("bob")!, 3 * MIB, "bob, alongside alice");
  await Deno.remove(local, { recursive: true });
});

Deno.test("the server's per-user request rate paces a burst of requests", async () => {
  await using server = await startServer(["--user-request-rate=20"]);
  const script = "stat /\n".repeat(61); // stat asks the server (pwd would not).
  const started = performance.now();
  const result = await runClient(server, [], { stdin: script });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(result.code, 0, result.stderr);
  // 61 requests at 20/s with a burst of 20 need at least 2 s; no upper bound (a busy machine is slower).
  assert.ok(seconds >= 2, `${seconds.toFixed(2)} s`);
  assert.equal(result.stdout.match(/type: directory/g)?.length, 61);
});
