/**
 * The local backend's partial folder from the inside: each partial's
 * sidecar record is written with it and removed with it, junk in the folder
 * never breaks the listing or usage, and the sweeper leaves no orphans.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { partialFileName } from "../../src/storage/local_upload.ts";
import { encodePartialRecord } from "../../src/storage/partial_record.ts";
import type { Storage } from "../../src/storage/storage.ts";
import { assertStatus, bytesOf, sha256Hex, TEST_MTIME_MS } from "./storage_test_helpers.ts";

interface Folder {
  root: string;
  /** `<root>/.dfos/partial`, created. */
  partials: string;
  storage: Storage;
}

async function withFolder(body: (folder: Folder) => Promise<void>): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "dfos-partials-" });
  try {
    const root = join(base, "alice");
    const storage = await LocalStorage.open(root);
    const partials = join(root, ".dfos", "partial");
    await Deno.mkdir(partials, { recursive: true });
    await body({ root, partials, storage });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

function names(directory: string): string[] {
  return [...Deno.readDirSync(directory)].map((entry) => entry.name).sort();
}

async function age(path: string, ageMs: number): Promise<void> {
  const past = new Date(Date.now() - ageMs);
  await Deno.utime(path, past, past);
}

const HOUR_MS = 3600_000;

Deno.test("a partial's record is written beside it and goes with it", async () => {
  await withFolder(async ({ partials, storage }) => {
    const id = partialFileName("/a.bin", 6, TEST_MTIME_MS);
    const upload = await storage.beginUpload("/a.bin", { size: 6, mtimeMs: TEST_MTIME_MS });
    assert.deepEqual(names(partials), [id, `${id}.json`]);
    const record = JSON.parse(await Deno.readTextFile(join(partials, `${id}.json`)));
    assert.deepEqual(record, { format: 1, path: "/a.bin", size: 6, mtimeMs: TEST_MTIME_MS });
    assert.equal((await Deno.stat(join(partials, `${id}.json`))).mode! & 0o777, 0o600);
    await upload.write(bytesOf("abc"));
    await upload.abort(true);
    assert.deepEqual(names(partials), [id, `${id}.json`], "kept for a resume, with its record");
    const resumed = await storage.beginUpload("/a.bin", { size: 6, mtimeMs: TEST_MTIME_MS });
    await resumed.write(bytesOf("def"));
    await resumed.commit(sha256Hex(bytesOf("abcdef")));
    assert.deepEqual(names(partials), [], "the commit removes both");
    const dropped = await storage.beginUpload("/b.bin", { size: 6, mtimeMs: TEST_MTIME_MS });
    await dropped.abort(false);
    assert.deepEqual(names(partials), [], "so does an abort that keeps nothing");
  });
});

Deno.test("a partial without a record is listed by its id and gets one when resumed", async () => {
  await withFolder(async ({ partials, storage }) => {
    const id = partialFileName("/old.bin", 10, TEST_MTIME_MS);
    await Deno.writeTextFile(join(partials, id), "1234");
    const [partial] = (await storage.listPartials()).partials;
    assert.deepEqual(
      { ...partial, writtenMs: 0 },
      { id, path: null, size: null, mtimeMs: null, received: 4, writtenMs: 0, active: false },
    );
    await assertStatus(storage.discardPartials({ kind: "path", path: "/old.bin" }), "NOT_FOUND");
    const resumed = await storage.beginUpload("/old.bin", { size: 10, mtimeMs: TEST_MTIME_MS });
    assert.equal(resumed.offset, 4);
    await resumed.abort(true);
    assert.equal((await storage.listPartials()).partials[0].path, "/old.bin");
  });
});

Deno.test("junk in the partial folder never breaks the listing, usage or discarding", async () => {
  await withFolder(async ({ partials, storage }) => {
    const legacy = partialFileName("/legacy.bin", 100, 1);
    await Deno.writeTextFile(join(partials, legacy), "legacy bytes");
    const good = partialFileName("/good.bin", 100, 1);
    await Deno.writeTextFile(join(partials, good), "good");
    await Deno.writeFile(
      join(partials, `${good}.json`),
      encodePartialRecord({ path: "/good.bin", size: 100, mtimeMs: 1 }),
    );
    const junk: Record<string, string> = {
      // A record that names another identity than its id: not believed.
      [`${legacy}.json`]: JSON.stringify({ format: 1, path: "/lie.bin", size: 100, mtimeMs: 1 }),
      "notes.txt": "not a partial at all",
      [`${"a".repeat(64)}.json`]: "{ not json",
      [`${"b".repeat(64)}.json`]: JSON.stringify({ format: 1, path: "../x", size: -1, mtimeMs: 1 }),
      [`${"c".repeat(64)}.json`]: " ".repeat(20_000) + "{}",
      [`${"d".repeat(64)}.json`]: JSON.stringify({ format: 2, path: "/x", size: 1, mtimeMs: 1 }),
      ".hidden": "x",
      "whole-0000": "a small upload's leftover",
    };
    for (const [name, text] of Object.entries(junk)) {
      await Deno.writeTextFile(join(partials, name), text);
    }
    await Deno.mkdir(join(partials, "a-folder"));
    await Deno.writeTextFile(join(partials, "a-folder", "inside"), "12345");
    await Deno.symlink("/etc/passwd", join(partials, "a-link"));
    await Deno.symlink(join(partials, "missing"), join(partials, `${"e".repeat(64)}.json`));
    const fifo = await new Deno.Command("mkfifo", { args: [join(partials, `${good}.json.tmp`)] })
      .output();
    assert.ok(fifo.success, "mkfifo");

    const listing = await storage.listPartials();
    const byId = new Map(listing.partials.map((partial) => [partial.id, partial]));
    assert.equal(byId.get(good)?.path, "/good.bin");
    assert.equal(byId.get(legacy)?.path, null, "a lying record leaves the path unknown");
    assert.equal(byId.get(legacy)?.received, "legacy bytes".length);
    for (const id of ["a", "b", "c", "d"].map((letter) => letter.repeat(64))) {
      assert.deepEqual([byId.get(id)?.path, byId.get(id)?.received], [null, 0], id);
    }
    for (const id of ["notes", ".hidden", "whole-0000"]) assert.ok(byId.has(id), id);
    assert.ok(!byId.has("a-folder") && !byId.has("a-link") && !byId.has("e".repeat(64)));
    const fileBytes = [legacy, good, `${good}.json`, ...Object.keys(junk)]
      .reduce((sum, name) => sum + Deno.statSync(join(partials, name)).size, 0);
    assert.equal(listing.bytes, fileBytes, "regular files only, records included");
    assert.equal(listing.count, 9);
    assert.equal(await storage.usage(), fileBytes + 5, "usage also counts the folder's folder");

    const all = await storage.discardPartials({ kind: "all", under: "/" });
    assert.deepEqual([all.count, all.bytes, all.busy], [9, fileBytes, 0]);
    assert.deepEqual(
      names(partials),
      [`${"e".repeat(64)}.json`, `${good}.json.tmp`, "a-folder", "a-link"].sort(),
      "only regular files are removed",
    );
    assert.equal(await Deno.readTextFile(join(partials, "a-folder", "inside")), "12345");
    assert.equal((await storage.listPartials()).count, 0);
  });
});

Deno.test("the sweeper removes stale partials with their records, and stale orphans", async () => {
  await withFolder(async ({ partials, storage }) => {
    const kept = async (path: string) => {
      const upload = await storage.beginUpload(path, { size: 10, mtimeMs: TEST_MTIME_MS });
      await upload.write(bytesOf("abc"));
      await upload.abort(true);
      return partialFileName(path, 10, TEST_MTIME_MS);
    };
    const stale = await kept("/stale.bin");
    await age(join(partials, stale), 2 * HOUR_MS);
    await age(join(partials, `${stale}.json`), 2 * HOUR_MS);
    // Written lately, its record made long ago: the partial's age is its newest file's.
    const fresh = await kept("/fresh.bin");
    await age(join(partials, `${fresh}.json`), 2 * HOUR_MS);
    // A record whose partial is gone (a crash between two removals).
    const orphan = partialFileName("/orphan.bin", 1, 1);
    await Deno.writeFile(
      join(partials, `${orphan}.json`),
      encodePartialRecord({ path: "/orphan.bin", size: 1, mtimeMs: 1 }),
    );
    await age(join(partials, `${orphan}.json`), 2 * HOUR_MS);
    await Deno.writeTextFile(join(partials, `${fresh}.json.tmp`), "");
    await age(join(partials, `${fresh}.json.tmp`), 2 * HOUR_MS);

    assert.equal(await storage.cleanupPartials(HOUR_MS), 2);
    assert.deepEqual(names(partials), [fresh, `${fresh}.json`, `${fresh}.json.tmp`].sort());
    assert.equal((await storage.listPartials()).partials[0].path, "/fresh.bin");
  });
});

Deno.test("an orphan record is listed with its path and no bytes, and can be discarded", async () => {
  await withFolder(async ({ partials, storage }) => {
    const id = partialFileName("/gone.bin", 5, 1);
    await Deno.writeFile(
      join(partials, `${id}.json`),
      encodePartialRecord({ path: "/gone.bin", size: 5, mtimeMs: 1 }),
    );
    const [partial] = (await storage.listPartials()).partials;
    assert.deepEqual([partial.id, partial.path, partial.received], [id, "/gone.bin", 0]);
    assert.equal((await storage.discardPartials({ kind: "path", path: "/gone.bin" })).count, 1);
    assert.deepEqual(names(partials), []);
  });
});
