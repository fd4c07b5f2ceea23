/**
 * Microseconds per storage operation of {@link LocalStorage}, on a temporary
 * folder with fsync off, so the figure is the cost of locating, confining and
 * the system calls, not of the disk. Run before and after a change to the
 * storage layer:
 *
 * ```sh
 * ./scripts/deno run --allow-read --allow-write scripts/bench/storage_ops.ts [--rounds 3000]
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";

const MTIME_MS = 1_600_000_000_000;
const rounds = Number(Deno.args[Deno.args.indexOf("--rounds") + 1]) || 3000;

/** Runs `operation` `rounds` times after a warm-up and prints µs per call. */
async function measure(name: string, operation: (index: number) => Promise<unknown>) {
  for (let index = 0; index < 200; index++) await operation(rounds + index);
  const started = performance.now();
  for (let index = 0; index < rounds; index++) await operation(index);
  const micros = ((performance.now() - started) * 1000) / rounds;
  console.log(`${name.padEnd(34)} ${micros.toFixed(1).padStart(8)} µs/op`);
}

const base = await Deno.makeTempDir({ prefix: "dfos-storage-bench-" });
try {
  const storage = await LocalStorage.open(join(base, "alice"), { fsync: false });
  const small = new TextEncoder().encode("x".repeat(1024));
  const sha256Hex = createHash("sha256").update(small).digest("hex");
  await storage.mkdir("/d1/d2", { parents: true });
  for (let index = 0; index < 20; index++) {
    await storage.writeFile(`/d1/d2/f${index}`, small, { mtimeMs: MTIME_MS, sha256Hex });
  }
  await measure("stat /d1/d2/f0", () => storage.stat("/d1/d2/f0"));
  await measure("list /d1/d2 (20 entries)", () => storage.list("/d1/d2"));
  await measure("openRead + read 1 KiB + close", async () => {
    const handle = await storage.openRead("/d1/d2/f1");
    await handle.read(new Uint8Array(4096), 0);
    handle.close();
  });
  // Over one name each, so the folder does not grow during the run.
  await measure(
    "writeFile 1 KiB (replacing)",
    () => storage.writeFile("/d1/d2/w", small, { mtimeMs: MTIME_MS, sha256Hex, overwrite: true }),
  );
  await measure("upload 1 KiB (begin, write, commit)", async (index) => {
    const upload = await storage.beginUpload("/d1/d2/u", {
      size: small.length,
      mtimeMs: MTIME_MS + index,
      overwrite: true,
    });
    await upload.write(small);
    await upload.commit(sha256Hex);
  });
  await measure("mkdir + rmdir", async (index) => {
    await storage.mkdir(`/d1/m${index}`);
    await storage.rmdir(`/d1/m${index}`);
  });
  await measure("rename there and back", async () => {
    await storage.rename("/d1/d2/f2", "/d1/f2");
    await storage.rename("/d1/f2", "/d1/d2/f2");
  });
  await measure("setMtime", () => storage.setMtime("/d1/d2/f3", MTIME_MS));
} finally {
  await Deno.remove(base, { recursive: true });
}
