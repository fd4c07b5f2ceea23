/**
 * Contract tests for partial uploads as the user sees them: listed with the
 * path, size and mtime they are for and the bytes they hold, discarded by
 * path, by id or all at once, never while an upload writes them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Storage } from "../../src/storage/storage.ts";
import type { DefineContractTest } from "./storage_contract.ts";
import {
  assertStatus,
  bytesOf,
  putFile,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

/** Leaves a partial of `received` bytes of a `size`-byte upload of `path`, kept for a resume. */
async function leavePartial(
  storage: Storage,
  path: string,
  received: number,
  options: { size?: number; mtimeMs?: number } = {},
): Promise<void> {
  const size = options.size ?? received + 10;
  const upload = await storage.beginUpload(path, {
    size,
    mtimeMs: options.mtimeMs ?? TEST_MTIME_MS,
  });
  await upload.write(new Uint8Array(received).fill(7));
  await upload.abort(true);
}

async function paths(storage: Storage, under = "/"): Promise<(string | null)[]> {
  return (await storage.listPartials({ under })).partials.map((partial) => partial.path).sort();
}

/** Registers the partial-upload contract tests. */
export function registerPartialsContract(define: DefineContractTest): void {
  registerListing(define);
  registerDiscarding(define);
  registerRefusals(define);
}

function registerListing(define: DefineContractTest): void {
  define("listPartials shows a kept upload's path, size, mtime and bytes", async (storage) => {
    const before = Date.now();
    await storage.mkdir("/docs");
    await leavePartial(storage, "/docs/a.bin", 4, { size: 10, mtimeMs: 1234 });
    const listing = await storage.listPartials();
    assert.equal(listing.partials.length, 1);
    const [partial] = listing.partials;
    assert.deepEqual(
      { ...partial, id: "", writtenMs: 0 },
      {
        id: "",
        path: "/docs/a.bin",
        size: 10,
        mtimeMs: 1234,
        received: 4,
        writtenMs: 0,
        active: false,
      },
    );
    assert.ok(partial.id.length > 0);
    assert.ok(partial.writtenMs >= before - 2000 && partial.writtenMs <= Date.now() + 2000);
    assert.equal(listing.count, 1);
    assert.equal(listing.more, false);
    assert.ok(listing.bytes >= 4);
    assert.equal(listing.bytesInProgress, 0);
    assert.equal(await storage.usage(), listing.bytes, "partials are the whole usage here");
  });

  define("no upload, a committed one or a dropped one leaves nothing listed", async (storage) => {
    assert.deepEqual(await storage.listPartials(), {
      partials: [],
      more: false,
      count: 0,
      bytes: 0,
      bytesInProgress: 0,
    });
    await putFile(storage, "/done.txt", "complete");
    const dropped = await storage.beginUpload("/dropped", { size: 5, mtimeMs: TEST_MTIME_MS });
    await dropped.write(bytesOf("ab"));
    await dropped.abort(false);
    const mismatch = await storage.beginUpload("/bad", { size: 2, mtimeMs: TEST_MTIME_MS });
    await mismatch.write(bytesOf("ab"));
    await assertStatus(mismatch.commit(sha256Hex(bytesOf("xy"))), "CHECKSUM_MISMATCH");
    const listing = await storage.listPartials();
    assert.equal(listing.count, 0);
    assert.equal(listing.bytes, 0);
    assert.equal(await storage.usage(), "complete".length, "nothing left beside the file");
  });

  define("listPartials selects a folder, newest first, and bounds the list", async (storage) => {
    await storage.mkdir("/photos");
    await storage.mkdir("/photosets");
    await leavePartial(storage, "/photos/a.jpg", 1);
    await leavePartial(storage, "/photosets/b.jpg", 2);
    await leavePartial(storage, "/c.txt", 3);
    assert.deepEqual(await paths(storage, "/photos"), ["/photos/a.jpg"]);
    assert.deepEqual(await paths(storage, "/photos/a.jpg"), ["/photos/a.jpg"]);
    assert.deepEqual(await paths(storage, "/nothing"), []);
    assert.deepEqual(await paths(storage), ["/c.txt", "/photos/a.jpg", "/photosets/b.jpg"]);
    const listing = await storage.listPartials({ limit: 2 });
    assert.equal(listing.partials.length, 2);
    assert.equal(listing.more, true);
    assert.equal(listing.count, 3, "the count covers every partial");
    const times = listing.partials.map((partial) => partial.writtenMs);
    assert.ok(times[0] >= times[1], "newest first");
    const totals = await storage.listPartials({ limit: 0 });
    assert.deepEqual([totals.partials, totals.more, totals.count], [[], true, 3]);
    assert.equal(totals.bytes, listing.bytes);
  });

  define("an upload being written is listed as active and is never discarded", async (storage) => {
    const upload = await storage.beginUpload("/live.bin", { size: 9, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("abc"));
    const listing = await storage.listPartials();
    assert.equal(listing.partials[0].active, true);
    assert.equal(listing.bytesInProgress, listing.bytes);
    await assertStatus(storage.discardPartials({ kind: "path", path: "/live.bin" }), "EXISTS");
    const id = listing.partials[0].id;
    await assertStatus(storage.discardPartials({ kind: "id", id }), "EXISTS");
    assert.deepEqual(await storage.discardPartials({ kind: "all", under: "/" }), {
      count: 0,
      bytes: 0,
      busy: 1,
    });
    await upload.write(bytesOf("def"));
    await upload.abort(true);
    const resumed = await storage.beginUpload("/live.bin", { size: 9, mtimeMs: TEST_MTIME_MS });
    assert.equal(resumed.offset, 6, "the upload kept every byte");
    await resumed.abort(true);
    assert.equal((await storage.discardPartials({ kind: "path", path: "/live.bin" })).count, 1);
  });
}

function registerDiscarding(define: DefineContractTest): void {
  define("discarding by path removes every partial of that file and frees it", async (storage) => {
    await leavePartial(storage, "/a.bin", 4, { mtimeMs: 1 });
    await leavePartial(storage, "/a.bin", 5, { mtimeMs: 2 });
    await leavePartial(storage, "/b.bin", 6);
    const before = await storage.listPartials();
    const usage = await storage.usage();
    const result = await storage.discardPartials({ kind: "path", path: "a.bin" });
    assert.equal(result.count, 2);
    assert.equal(result.busy, 0);
    assert.ok(result.bytes >= 9);
    assert.equal(await storage.usage(), usage - result.bytes);
    const after = await storage.listPartials();
    assert.equal(after.bytes, before.bytes - result.bytes);
    assert.deepEqual(await paths(storage), ["/b.bin"]);
    const again = await storage.beginUpload("/a.bin", { size: 14, mtimeMs: 1 });
    assert.equal(again.offset, 0, "a discarded partial is not resumed");
    await again.abort(false);
  });

  define("discarding by id removes that partial only", async (storage) => {
    await leavePartial(storage, "/a.bin", 4);
    await leavePartial(storage, "/b.bin", 4);
    const target = (await storage.listPartials()).partials.find((p) => p.path === "/a.bin")!;
    const result = await storage.discardPartials({ kind: "id", id: target.id });
    assert.equal(result.count, 1);
    assert.deepEqual(await paths(storage), ["/b.bin"]);
    await assertStatus(storage.discardPartials({ kind: "id", id: target.id }), "NOT_FOUND");
  });

  define("discarding all removes every partial, or those under a folder", async (storage) => {
    await storage.mkdir("/keep");
    await storage.mkdir("/drop");
    await leavePartial(storage, "/keep/a.bin", 1);
    await leavePartial(storage, "/drop/b.bin", 2);
    await leavePartial(storage, "/drop/c.bin", 3);
    const under = await storage.discardPartials({ kind: "all", under: "/drop" });
    assert.equal(under.count, 2);
    assert.deepEqual(await paths(storage), ["/keep/a.bin"]);
    assert.equal((await storage.discardPartials({ kind: "all", under: "/" })).count, 1);
    assert.equal((await storage.listPartials()).count, 0);
    assert.equal(await storage.usage(), 0);
    assert.deepEqual(await storage.discardPartials({ kind: "all", under: "/" }), {
      count: 0,
      bytes: 0,
      busy: 0,
    });
  });
}

function registerRefusals(define: DefineContractTest): void {
  define("discarding what is not there fails clearly and changes nothing", async (storage) => {
    await putFile(storage, "/file.txt", "a finished file");
    await leavePartial(storage, "/a.bin", 4);
    const usage = await storage.usage();
    const missing = await assertStatus(
      storage.discardPartials({ kind: "path", path: "/file.txt" }),
      "NOT_FOUND",
    );
    assert.match(missing.message, /^\/file\.txt: no unfinished upload of this file$/);
    await assertStatus(
      storage.discardPartials({ kind: "path", path: "../../a.bin/x" }),
      "NOT_FOUND",
    );
    await assertStatus(storage.discardPartials({ kind: "id", id: "no-such-id" }), "NOT_FOUND");
    await assertStatus(storage.discardPartials({ kind: "id", id: "../../file.txt" }), "NOT_FOUND");
    await assertStatus(storage.discardPartials({ kind: "id", id: "" }), "NOT_FOUND");
    await assertStatus(
      storage.discardPartials({ kind: "path", path: "/.dfos/partial" }),
      "PERMISSION_DENIED",
    );
    await assertStatus(storage.discardPartials({ kind: "path", path: "a\\b" }), "INVALID_PATH");
    await assertStatus(storage.listPartials({ under: "/.dfos" }), "PERMISSION_DENIED");
    assert.equal(await storage.usage(), usage);
    assert.deepEqual(await paths(storage), ["/a.bin"]);
  });
}
