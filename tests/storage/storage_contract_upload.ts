/**
 * Contract tests for uploads: atomic commit, verification, limits, resume,
 * abort, cleanup of stale partials, and usage accounting.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DefineContractTest } from "./storage_contract.ts";
import {
  assertAbsent,
  assertStatus,
  bytesOf,
  putFile,
  readFileBytes,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

const HOUR_MS = 60 * 60 * 1000;

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let start = 0; start < length; start += 65_536) {
    crypto.getRandomValues(bytes.subarray(start, start + 65_536));
  }
  return bytes;
}

/** Registers the upload tests. */
export function registerUploadContract(define: DefineContractTest): void {
  registerCommit(define);
  registerUploadRefusals(define);
  registerResume(define);
  registerHousekeeping(define);
}

function registerCommit(define: DefineContractTest): void {
  define("an upload is invisible until commit, then complete with its mtime", async (storage) => {
    await storage.mkdir("/docs");
    const content = bytesOf("0123456789");
    const upload = await storage.beginUpload("/docs/a.txt", { size: 10, mtimeMs: TEST_MTIME_MS });
    assert.equal(upload.offset, 0);
    await upload.write(content.subarray(0, 4));
    await assertAbsent(storage, "/docs/a.txt");
    await upload.write(content.subarray(4));
    await assertAbsent(storage, "/docs/a.txt");
    assert.deepEqual(await storage.list("/docs"), []);
    assert.deepEqual((await storage.list("/")).map((entry) => entry.name), ["docs"]);
    await upload.commit(sha256Hex(content));
    assert.deepEqual(await readFileBytes(storage, "/docs/a.txt"), content);
    assert.equal((await storage.stat("/docs/a.txt")).mtimeMs, TEST_MTIME_MS);
    assert.deepEqual((await storage.list("/")).map((entry) => entry.name), ["docs"]);
  });

  define("an empty file can be uploaded", async (storage) => {
    await putFile(storage, "/empty", "");
    assert.equal((await storage.stat("/empty")).size, 0);
  });

  define("upload with overwrite replaces an existing file", async (storage) => {
    await putFile(storage, "/a.txt", "old content");
    await putFile(storage, "/a.txt", "new", { overwrite: true });
    assert.equal(await readFileText(storage, "/a.txt"), "new");
  });

  define("a checksum mismatch leaves no target and removes the partial", async (storage) => {
    const upload = await storage.beginUpload("/a.txt", { size: 3, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("abc"));
    await assertStatus(upload.commit(sha256Hex(bytesOf("abd"))), "CHECKSUM_MISMATCH");
    await assertAbsent(storage, "/a.txt");
    assert.equal(await storage.usage(), 0);
    const retry = await storage.beginUpload("/a.txt", { size: 3, mtimeMs: TEST_MTIME_MS });
    assert.equal(retry.offset, 0);
    await retry.abort(false);
  });

  define("commit and abort may be called again without effect", async (storage) => {
    const content = bytesOf("abc");
    const upload = await storage.beginUpload("/a.txt", { size: 3, mtimeMs: TEST_MTIME_MS });
    await upload.write(content);
    await upload.commit(sha256Hex(content));
    await upload.commit(sha256Hex(content));
    await upload.abort(false);
    assert.equal(await readFileText(storage, "/a.txt"), "abc");
    const aborted = await storage.beginUpload("/b.txt", { size: 3, mtimeMs: TEST_MTIME_MS });
    await aborted.abort(false);
    await aborted.abort(true);
    await assertStatus(aborted.commit(sha256Hex(content)), "BAD_REQUEST");
    await assertAbsent(storage, "/b.txt");
  });
}

function registerUploadRefusals(define: DefineContractTest): void {
  define("upload of an existing name without overwrite fails with EXISTS", async (storage) => {
    await putFile(storage, "/a.txt", "original");
    await assertStatus(putFile(storage, "/a.txt", "other"), "EXISTS");
    assert.equal(await readFileText(storage, "/a.txt"), "original");
  });

  define("upload fails with EXISTS at commit when the name appeared meanwhile", async (storage) => {
    const content = bytesOf("late");
    const upload = await storage.beginUpload("/a.txt", { size: 4, mtimeMs: TEST_MTIME_MS });
    await upload.write(content);
    await putFile(storage, "/a.txt", "first");
    await assertStatus(upload.commit(sha256Hex(content)), "EXISTS");
    assert.equal(await readFileText(storage, "/a.txt"), "first");
  });

  define("upload onto a directory fails with IS_A_DIRECTORY", async (storage) => {
    await storage.mkdir("/docs");
    const options = { size: 1, mtimeMs: TEST_MTIME_MS, overwrite: true };
    await assertStatus(storage.beginUpload("/docs", options), "IS_A_DIRECTORY");
    await assertStatus(storage.beginUpload("/", options), "IS_A_DIRECTORY");
  });

  define("upload into a missing directory fails with NOT_FOUND", async (storage) => {
    await assertStatus(putFile(storage, "/missing/a.txt", "a"), "NOT_FOUND");
  });

  define("upload under a file fails with NOT_A_DIRECTORY", async (storage) => {
    await putFile(storage, "/a.txt", "a");
    await assertStatus(putFile(storage, "/a.txt/b.txt", "b"), "NOT_A_DIRECTORY");
  });

  define("upload with a negative size fails with BAD_REQUEST", async (storage) => {
    await assertStatus(
      storage.beginUpload("/a.txt", { size: -1, mtimeMs: TEST_MTIME_MS }),
      "BAD_REQUEST",
    );
  });

  define("writing more than the announced size fails with TOO_LARGE", async (storage) => {
    const upload = await storage.beginUpload("/a.txt", { size: 4, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("abc"));
    await assertStatus(upload.write(bytesOf("de")), "TOO_LARGE");
    await upload.abort(true);
    const retry = await storage.beginUpload("/a.txt", { size: 4, mtimeMs: TEST_MTIME_MS });
    assert.equal(retry.offset, 3, "the partial keeps the bytes written before");
    await retry.abort(false);
    await assertAbsent(storage, "/a.txt");
  });

  define(
    "commit before all bytes arrived fails with BAD_REQUEST and keeps the upload",
    async (storage) => {
      const content = bytesOf("abcdef");
      const upload = await storage.beginUpload("/a.txt", { size: 6, mtimeMs: TEST_MTIME_MS });
      await upload.write(content.subarray(0, 3));
      const error = await assertStatus(upload.commit(sha256Hex(content)), "BAD_REQUEST");
      assert.match(error.message, /only 3 of 6 bytes arrived/);
      await upload.write(content.subarray(3));
      await upload.commit(sha256Hex(content));
      assert.equal(await readFileText(storage, "/a.txt"), "abcdef");
    },
  );
}

function registerResume(define: DefineContractTest): void {
  define("an upload kept by abort resumes from where it stopped", async (storage) => {
    const content = randomBytes(3_000_000); // more than one re-hash chunk
    const options = { size: content.length, mtimeMs: TEST_MTIME_MS };
    const first = await storage.beginUpload("/big.bin", options);
    await first.write(content.subarray(0, 1_500_000));
    await first.abort(true);
    await assertAbsent(storage, "/big.bin");
    const second = await storage.beginUpload("/big.bin", options);
    assert.equal(second.offset, 1_500_000);
    await second.write(content.subarray(second.offset));
    await second.commit(sha256Hex(content));
    assert.deepEqual(await readFileBytes(storage, "/big.bin"), content);
  });

  define("resume with a different size or mtime starts from zero", async (storage) => {
    const first = await storage.beginUpload("/a.txt", { size: 10, mtimeMs: TEST_MTIME_MS });
    await first.write(bytesOf("01234"));
    await first.abort(true);
    for (const options of [{ size: 11, mtimeMs: TEST_MTIME_MS }, { size: 10, mtimeMs: 1 }]) {
      const other = await storage.beginUpload("/a.txt", options);
      assert.equal(other.offset, 0);
      await other.abort(false);
    }
    const same = await storage.beginUpload("/a.txt", { size: 10, mtimeMs: TEST_MTIME_MS });
    assert.equal(same.offset, 5);
    await same.abort(false);
  });

  define("an upload without resume starts from zero over a kept partial", async (storage) => {
    const options = { size: 6, mtimeMs: TEST_MTIME_MS };
    const first = await storage.beginUpload("/a.txt", options);
    await first.write(bytesOf("xyz"));
    await first.abort(true);
    const fresh = await storage.beginUpload("/a.txt", { ...options, resume: false });
    assert.equal(fresh.offset, 0);
    await fresh.write(bytesOf("abcdef"));
    await fresh.commit(sha256Hex(bytesOf("abcdef")));
    assert.equal(await readFileText(storage, "/a.txt"), "abcdef");
  });

  define("abort without keeping removes the partial", async (storage) => {
    const upload = await storage.beginUpload("/a.txt", { size: 6, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("abc"));
    await upload.abort(false);
    assert.equal(await storage.usage(), 0);
    const retry = await storage.beginUpload("/a.txt", { size: 6, mtimeMs: TEST_MTIME_MS });
    assert.equal(retry.offset, 0);
    await retry.abort(false);
  });
}

function registerHousekeeping(define: DefineContractTest): void {
  define(
    "cleanupPartials removes partials untouched for longer than maxAge",
    async (storage, fixture) => {
      const stale = await storage.beginUpload("/stale", { size: 6, mtimeMs: TEST_MTIME_MS });
      await stale.write(bytesOf("abc"));
      await stale.abort(true);
      await fixture.agePartials(2 * HOUR_MS);
      const fresh = await storage.beginUpload("/fresh", { size: 6, mtimeMs: TEST_MTIME_MS });
      await fresh.write(bytesOf("abc"));
      await fresh.abort(true);
      assert.equal(await storage.cleanupPartials(HOUR_MS), 1);
      assert.equal(await storage.cleanupPartials(HOUR_MS), 0);
      const staleAgain = await storage.beginUpload("/stale", { size: 6, mtimeMs: TEST_MTIME_MS });
      assert.equal(staleAgain.offset, 0);
      await staleAgain.abort(false);
      const freshAgain = await storage.beginUpload("/fresh", { size: 6, mtimeMs: TEST_MTIME_MS });
      assert.equal(freshAgain.offset, 3);
      await freshAgain.abort(false);
    },
  );

  define("cleanupPartials with no uploads ever removes nothing", async (storage) => {
    assert.equal(await storage.cleanupPartials(0), 0);
  });

  define("usage counts file bytes including partial uploads", async (storage) => {
    assert.equal(await storage.usage(), 0);
    await storage.mkdir("/docs");
    await putFile(storage, "/ten.bin", randomBytes(10));
    await putFile(storage, "/docs/five.bin", randomBytes(5));
    const partial = await storage.beginUpload("/docs/partial", { size: 9, mtimeMs: 0 });
    await partial.write(randomBytes(3));
    await partial.abort(true);
    // A backend may keep a little bookkeeping with a partial; it counts, as the listing says.
    const partials = await storage.listPartials();
    assert.ok(partials.bytes >= 3);
    assert.equal(await storage.usage(), 15 + partials.bytes);
  });
}
