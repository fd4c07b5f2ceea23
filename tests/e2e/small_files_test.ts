/**
 * Small files: a file of at most MAX_WHOLE_FILE_SIZE crosses in one
 * `WriteFile` request (no round trip before its bytes); larger files stream
 * with `Write`. Both give the same result, the same limits and the same
 * audit record, and a refused small file leaves nothing behind.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { RemoteError } from "../../src/client/errors.ts";
import { MAX_WHOLE_FILE_SIZE } from "../../src/protocol/constants.ts";
import { Messages } from "../../src/protocol/messages.ts";
import { statusName } from "../../src/protocol/status.ts";
import { openClient, readAudit, runClient, startServer } from "../helpers/processes.ts";
import { seededBytes } from "../helpers/files.ts";
import { partialListing } from "../helpers/partials.ts";

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

/** The status name a request failed with. */
async function statusOf(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    if (error instanceof RemoteError) return statusName(error.code);
    throw error;
  }
  return "OK";
}

Deno.test("files up to the whole-file limit and past it round-trip with mtimes and one audit record each", async () => {
  await using server = await startServer();
  const local = await Deno.makeTempDir({ prefix: "dfos-small-" });
  const sizes = [0, 1, 4096, MAX_WHOLE_FILE_SIZE, MAX_WHOLE_FILE_SIZE + 1];
  const mtime = new Date(1_650_000_000_000);
  for (const size of sizes) {
    await Deno.writeFile(join(local, `f${size}`), seededBytes(size, size));
    await Deno.utime(join(local, `f${size}`), mtime, mtime);
  }
  const script = sizes.map((size) => `put f${size}\nget f${size} back${size}\n`).join("");
  const result = await runClient(server, [], { stdin: script, cwd: local });
  assert.equal(result.code, 0, result.stderr);
  for (const size of sizes) {
    const stored = join(server.storageDir, "alice", `f${size}`);
    assert.deepEqual(await Deno.readFile(stored), seededBytes(size, size), `f${size} stored`);
    assert.equal((await Deno.stat(stored)).mtime?.getTime(), mtime.getTime());
    assert.deepEqual(await Deno.readFile(join(local, `back${size}`)), seededBytes(size, size));
    assert.equal((await Deno.stat(join(local, `back${size}`))).mtime?.getTime(), mtime.getTime());
  }
  const writes = (await readAudit(server)).filter((event) => event.event === "upload");
  assert.deepEqual(writes.map((event) => [event.path, event.bytes, event.result]), [
    ...sizes.map((size) => [`/f${size}`, size, "ok"]),
  ]);
  const { count, bytes } = await partialListing(server);
  assert.deepEqual({ count, bytes }, { count: 0, bytes: 0 }, "no partial or temporary file left");
  const downloads = [...Deno.readDirSync(local)].map((entry) => entry.name);
  assert.ok(!downloads.some((name) => name.includes("dfos-part")), "no download partial left");
  await Deno.remove(local, { recursive: true });
});

Deno.test("a WriteFile is refused with the status a Write would get, and leaves nothing", async () => {
  await using server = await startServer(["--quota=15K", "--max-file-size=12K"]);
  const connection = await openClient(server);
  const root = join(server.storageDir, "alice");
  try {
    const write = (
      path: string,
      content: Uint8Array,
      overwrite = false,
      digest = sha256(content),
    ) =>
      connection.call(Messages.WriteFile, { path, mtimeMs: 0, overwrite, sha256: digest, content });
    const ten = seededBytes(10 * 1024, 1);
    const small = seededBytes(5, 5);
    assert.equal(await statusOf(write("/a.bin", ten)), "OK");
    assert.equal(await statusOf(write("/a.bin", seededBytes(5, 2))), "EXISTS");
    assert.equal(await statusOf(write("/big.bin", seededBytes(13 * 1024, 3))), "TOO_LARGE");
    assert.equal(await statusOf(write("/b.bin", ten)), "QUOTA_EXCEEDED");
    assert.equal(
      await statusOf(write("/c.bin", small, false, sha256(ten))),
      "CHECKSUM_MISMATCH",
    );
    assert.equal(await statusOf(write("/no/such/dir.bin", small)), "NOT_FOUND");
    assert.equal(await statusOf(write("/", small)), "IS_A_DIRECTORY");
    assert.equal(
      await statusOf(write("../../escape.bin", seededBytes(5, 4))),
      "OK",
      "clamped at the root",
    );
    assert.deepEqual(
      [...Deno.readDirSync(root)].map((entry) => entry.name).sort(),
      [".dfos", "a.bin", "escape.bin"],
    );
    const { count, bytes } = await partialListing(server);
    assert.deepEqual({ count, bytes }, { count: 0, bytes: 0 }, "no partial or temporary file left");
    assert.deepEqual(
      await Deno.readFile(join(root, "a.bin")),
      ten,
      "the refused overwrite kept the file",
    );
    assert.equal(await statusOf(write("/a.bin", seededBytes(5, 2), true)), "OK");
    assert.deepEqual(await Deno.readFile(join(root, "a.bin")), seededBytes(5, 2));
  } finally {
    await connection.close();
  }
  const refused = (await readAudit(server)).filter((event) =>
    event.event === "upload" && event.result !== "ok"
  );
  assert.equal(refused.length, 6, "every refusal is audited");
});

Deno.test("many small files pipelined on one connection all arrive, in any order of replies", async () => {
  await using server = await startServer();
  const connection = await openClient(server);
  try {
    await connection.mkdir("/many", false);
    const files = Array.from({ length: 300 }, (_, index) => seededBytes(100 + index, index));
    await Promise.all(files.map((content, index) =>
      connection.call(Messages.WriteFile, {
        path: `/many/${index}`,
        mtimeMs: 1_000 + index,
        overwrite: false,
        sha256: sha256(content),
        content,
      })
    ));
    for (const [index, content] of files.entries()) {
      const path = join(server.storageDir, "alice", "many", String(index));
      assert.deepEqual(await Deno.readFile(path), content);
      assert.equal((await Deno.stat(path)).mtime?.getTime(), 1_000 + index);
    }
  } finally {
    await connection.close();
  }
});
