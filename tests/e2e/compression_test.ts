/**
 * --compress: compressible data crosses the wire smaller, incompressible
 * data is sent as it is, and both arrive byte-identical in both directions.
 * Bytes on the wire are counted by a relay between client and server.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer } from "../helpers/processes.ts";
import { startRelay } from "../helpers/relay.ts";
import { seededBytes, sha256File } from "../helpers/files.ts";

const SIZE = 8 * 1024 * 1024;
/** Under the whole-file limit (256 KiB). */
const SMALL = 200 * 1024;

/** Text-like bytes: a log file's worth of repeated, slightly varying lines. */
function compressible(size: number): Uint8Array {
  const lines: string[] = [];
  for (let index = 0, length = 0; length < size; index++) {
    const minute = String(index % 60).padStart(2, "0");
    const line = `2026-11-22T04:${minute} INFO request ${index} served in ${index % 97} ms\n`;
    lines.push(line);
    length += line.length;
  }
  return new TextEncoder().encode(lines.join("")).subarray(0, size);
}

Deno.test("--compress shrinks compressible transfers and passes random data through, both ways", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-local-" });
  await Deno.writeFile(join(local, "log.txt"), compressible(SIZE));
  await Deno.writeFile(join(local, "noise.bin"), seededBytes(SIZE, 77));
  const cert = join(server.dir, "server_state", "tls_cert.pem");
  const wire = async (...args: string[]) => {
    const relay = await startRelay(server.port, cert, join(local, `kh-${crypto.randomUUID()}`));
    const result = await runClient(relay, args, { cwd: local, timeoutMs: 20_000 });
    relay.cut();
    assert.equal(result.code, 0, result.stderr);
    return relay.bytes();
  };
  const compressedUp = await wire("--compress", "put", "log.txt");
  const compressedDown = await wire("--compress", "get", "log.txt", "log-back.txt");
  const plainUp = await wire("put", "log.txt", "log-plain.txt");
  const noiseUp = await wire("--compress", "put", "noise.bin");
  const noiseDown = await wire("--compress", "get", "noise.bin", "noise-back.bin");
  // A small file: uploaded whole (never compressed), downloaded in one reply (compressed).
  await Deno.writeFile(join(local, "small.txt"), compressible(SMALL));
  const smallUp = await wire("--compress", "put", "small.txt");
  const smallDown = await wire("--compress", "get", "small.txt", "small-back.txt");

  assert.ok(compressedUp < SIZE / 4, `compressed upload used ${compressedUp} bytes on the wire`);
  assert.ok(compressedDown < SIZE / 4, `compressed download used ${compressedDown} bytes`);
  assert.ok(plainUp > SIZE, "without --compress the bytes go as they are");
  assert.ok(noiseUp > SIZE && noiseUp < SIZE * 1.02, `random data sent as it is: ${noiseUp}`);
  assert.ok(noiseDown > SIZE && noiseDown < SIZE * 1.02, `random data sent as it is: ${noiseDown}`);
  assert.ok(smallUp > SMALL, `a small upload goes whole, as it is: ${smallUp}`);
  assert.ok(smallDown < smallUp - SMALL / 2, `a small download is compressed: ${smallDown}`);

  const stored = join(server.storageDir, "alice");
  for (
    const [a, b] of [
      [join(local, "log.txt"), join(stored, "log.txt")],
      [join(local, "log.txt"), join(local, "log-back.txt")],
      [join(local, "noise.bin"), join(stored, "noise.bin")],
      [join(local, "noise.bin"), join(local, "noise-back.bin")],
      [join(local, "small.txt"), join(stored, "small.txt")],
      [join(local, "small.txt"), join(local, "small-back.txt")],
    ]
  ) assert.equal(await sha256File(b), await sha256File(a), b);
  await Deno.remove(local, { recursive: true });
});
