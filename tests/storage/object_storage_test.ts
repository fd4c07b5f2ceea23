/**
 * What the object-store backend does beyond the storage contract, on a real
 * radosgw and PostgreSQL: uploads of several parts, uninterrupted and
 * resumed through another node (from its parts and its tail, checked by
 * reading the object back); content the user has already is not stored
 * again; a folder's rename sends the store nothing; each change gets into
 * the journal once; the collector deletes unnamed objects, never named ones.
 */

import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { migrate } from "../../src/database/migrations.ts";
import { ObjectStorageProvider } from "../../src/storage/object/object_provider.ts";
import type { ObjectStore } from "../../src/storage/object/object_store.ts";
import { PART_SIZE } from "../../src/storage/object/object_backend.ts";
import { OBJECT_STORE_MISSING, startObjectStore } from "../helpers/ceph.ts";
import { seededBytes } from "../helpers/files.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import { newStore } from "./object_store_helpers.ts";
import { ageObjectPartials } from "./storage_backends.ts";
import { StorageError } from "../../src/storage/storage.ts";
import { statusName } from "../../src/protocol/status.ts";
import { putFile, readFileBytes, sha256Hex, TEST_MTIME_MS } from "./storage_test_helpers.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing();

/** Counts the requests made of a store, by operation; `hold.put` makes puts wait for it. */
function counting(store: ObjectStore) {
  const calls = new Map<string, number>();
  const hold: { put?: Promise<void> } = {};
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        if (name === "put") await hold.put;
        return await value.apply(target, args);
      };
    },
  });
  return { store: counted as ObjectStore, calls, hold };
}

/** Counts the queries (`run`) and transactions made through a database. */
function countingDatabase(database: Database) {
  const calls = new Map<string, number>();
  const counted = new Proxy(database, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { database: counted, calls };
}

/** Sum of the calls made since `before` (a copy of the counts). */
function callsSince(calls: Map<string, number>, before: Map<string, number>): number {
  let total = 0;
  for (const [name, count] of calls) total += count - (before.get(name) ?? 0);
  return total;
}

/** Writes `bytes` from `from` in 1 MiB chunks. */
async function writeFrom(
  upload: { write(chunk: Uint8Array): Promise<void> },
  bytes: Uint8Array,
  from: number,
  to = bytes.length,
) {
  for (let start = from; start < to; start += 1024 * 1024) {
    await upload.write(bytes.subarray(start, Math.min(start + 1024 * 1024, to)));
  }
}

Deno.test({
  name: "ObjectStorage beyond the contract" + (missing ? ` (skipped: ${missing})` : ""),
  ignore: missing !== undefined,
  async fn(t) {
    await using server = await startObjectStore();
    const database = Database.open(await (await sharedPostgres()).createDatabase());
    await migrate(database);
    const { store, calls, hold } = counting(await newStore(server, "extra"));
    const node = (graceMs = 3600_000) =>
      new ObjectStorageProvider("s3://extra/extra", { database, store, garbageGraceMs: graceMs });
    const nodeA = node();
    const nodeB = node(0);
    await nodeA.prepare();
    await nodeB.prepare();
    let users = 0;
    const fresh = async () => {
      const user = `user${++users}`;
      return { user, a: await nodeA.open(user), b: await nodeB.open(user) };
    };
    try {
      await t.step(
        "an uninterrupted upload of three parts hashes as it goes and reads back right",
        async () => {
          const { a } = await fresh();
          const bytes = seededBytes(2 * PART_SIZE + 12_345, 1);
          const before = new Map(calls);
          const upload = await a.beginUpload("/big.bin", {
            size: bytes.length,
            mtimeMs: TEST_MTIME_MS,
          });
          await writeFrom(upload, bytes, 0);
          await upload.commit(sha256Hex(bytes));
          assert.equal(calls.get("read") ?? 0, before.get("read") ?? 0, "not read back");
          assert.equal((calls.get("uploadPart") ?? 0) - (before.get("uploadPart") ?? 0), 3);
          assert.deepEqual(await readFileBytes(a, "/big.bin"), bytes);
          assert.equal((await a.stat("/big.bin")).size, bytes.length);
        },
      );

      await t.step(
        "an upload stopped mid-part resumes on another node from its last byte",
        async () => {
          const { a, b } = await fresh();
          const bytes = seededBytes(2 * PART_SIZE + 54_321, 2);
          const options = { size: bytes.length, mtimeMs: TEST_MTIME_MS };
          const first = await a.beginUpload("/big.bin", options);
          const stop = PART_SIZE + 3 * 1024 * 1024 + 17;
          await writeFrom(first, bytes, 0, stop);
          await first.abort(true);
          assert.equal((await b.listPartials()).partials[0].received, stop);
          const second = await b.beginUpload("/big.bin", options);
          assert.equal(second.offset, stop, "the whole part and the tail are kept");
          await writeFrom(second, bytes, second.offset);
          const reads = calls.get("read") ?? 0;
          await second.commit(sha256Hex(bytes));
          assert.ok(
            (calls.get("read") ?? 0) > reads,
            "the resumed upload was read back to check it",
          );
          assert.deepEqual(await readFileBytes(a, "/big.bin"), bytes);
          assert.equal((await a.listPartials()).count, 0);
        },
      );

      await t.step(
        "a resumed upload whose bytes differ from the hash given is not named",
        async () => {
          const { a, b } = await fresh();
          const bytes = seededBytes(PART_SIZE + 100, 3);
          const options = { size: bytes.length, mtimeMs: TEST_MTIME_MS };
          const first = await a.beginUpload("/big.bin", options);
          await writeFrom(first, bytes, 0, PART_SIZE + 10);
          await first.abort(true);
          const second = await b.beginUpload("/big.bin", options);
          const wrong = bytes.slice();
          wrong[bytes.length - 1] ^= 1;
          await writeFrom(second, wrong, second.offset);
          await assert.rejects(
            second.commit(sha256Hex(bytes)),
            /do not match the announced SHA-256/,
          );
          await assert.rejects(a.stat("/big.bin"), /no such file/);
          assert.equal((await a.listPartials()).count, 0);
        },
      );

      await t.step("an abort while a part is on its way keeps that part once", async () => {
        const { a, b } = await fresh();
        const bytes = seededBytes(2 * PART_SIZE + 5000, 5);
        const options = { size: bytes.length, mtimeMs: TEST_MTIME_MS };
        const first = await a.beginUpload("/big.bin", options);
        const { promise: held, resolve: release } = Promise.withResolvers<void>();
        hold.put = held; // A tail's put, if any, is slower than the part.
        const writing = first.write(bytes.subarray(0, PART_SIZE)); // Fills the part: it goes out.
        const aborting = first.abort(true); // As a session ending mid-write does.
        await writing;
        release();
        await aborting;
        const second = await b.beginUpload("/big.bin", options);
        assert.equal(second.offset, PART_SIZE);
        await second.write(bytes.subarray(second.offset));
        await second.commit(sha256Hex(bytes));
        assert.deepEqual(await readFileBytes(a, "/big.bin"), bytes);
      });

      await t.step("a file read in order takes one ranged GET; a jump takes another", async () => {
        const { a } = await fresh();
        const bytes = seededBytes(3 * 1024 * 1024 + 7, 6);
        await a.writeFile("/read.bin", bytes, { mtimeMs: 1, sha256Hex: sha256Hex(bytes) });
        const reads = calls.get("read") ?? 0;
        assert.deepEqual(await readFileBytes(a, "/read.bin"), bytes);
        assert.equal((calls.get("read") ?? 0) - reads, 1, "one stream for the whole file");
        const handle = await a.openRead("/read.bin");
        try {
          const piece = new Uint8Array(100);
          assert.equal(await handle.read(piece, 2_000_000), 100);
          assert.deepEqual(piece, bytes.subarray(2_000_000, 2_000_100));
          assert.equal(await handle.read(piece, bytes.length), null);
        } finally {
          handle.close();
        }
        assert.equal((calls.get("read") ?? 0) - reads, 2, "the jump opened a second range");
      });

      await t.step("content the user already has is named again, not stored again", async () => {
        const { a } = await fresh();
        const bytes = seededBytes(5000, 4);
        await a.writeFile("/one", bytes, { mtimeMs: 1, sha256Hex: sha256Hex(bytes) });
        const puts = calls.get("put") ?? 0;
        await a.writeFile("/two", bytes, { mtimeMs: 2, sha256Hex: sha256Hex(bytes) });
        assert.equal(calls.get("put") ?? 0, puts, "no second put");
        assert.deepEqual(await readFileBytes(a, "/two"), bytes);
        assert.equal(await a.usage(), 2 * bytes.length, "counted once per name");
      });

      await t.step(
        "a small file takes three queries, one transaction and one put: its object is marked stored as it is named",
        async () => {
          const queries = countingDatabase(database);
          const provider = new ObjectStorageProvider("s3://extra/extra", {
            database: queries.database,
            store,
          });
          await provider.prepare();
          const storage = await provider.open(`user${++users}`);
          const bytes = seededBytes(4096, 5);
          const before = new Map(queries.calls);
          const puts = calls.get("put") ?? 0;
          await storage.writeFile("/small", bytes, { mtimeMs: 1, sha256Hex: sha256Hex(bytes) });
          // Its target and a stored copy looked up, its object recorded pending; then the PUT.
          assert.equal((queries.calls.get("run") ?? 0) - (before.get("run") ?? 0), 3);
          // Marked stored and named together.
          assert.equal(
            (queries.calls.get("transaction") ?? 0) - (before.get("transaction") ?? 0),
            1,
          );
          assert.equal((calls.get("put") ?? 0) - puts, 1);
          assert.deepEqual(await readFileBytes(storage, "/small"), bytes);
          await assert.rejects(
            storage.writeFile("/small", bytes, { mtimeMs: 1, sha256Hex: sha256Hex(bytes) }),
            (error) => error instanceof StorageError && statusName(error.code) === "EXISTS",
          );
          await assert.rejects(
            storage.writeFile("/none/small", bytes, { mtimeMs: 1, sha256Hex: sha256Hex(bytes) }),
            (error) => error instanceof StorageError && statusName(error.code) === "NOT_FOUND",
          );
          assert.equal((calls.get("put") ?? 0) - puts, 1, "nothing stored for a refused name");
        },
      );

      await t.step(
        "a folder of files renamed sends the store nothing and moves every name",
        async () => {
          const { a } = await fresh();
          await a.mkdir("/docs/deep", { parents: true });
          for (let index = 0; index < 20; index++) {
            await putFile(a, `/docs/deep/f${index}`, `file ${index}`);
          }
          const before = new Map(calls);
          await a.rename("/docs", "/papers");
          assert.equal(callsSince(calls, before), 0);
          assert.equal((await a.list("/papers/deep")).length, 20);
          assert.equal(
            new TextDecoder().decode(await readFileBytes(a, "/papers/deep/f7")),
            "file 7",
          );
        },
      );

      await t.step(
        "each change is in the journal once, though the server's feed writes it too",
        async () => {
          const { a } = await fresh();
          const journal = await a.openJournal();
          const start = await journal.sequence();
          await a.mkdir("/docs");
          await journal.put("/docs", {
            kind: "directory",
            size: 0,
            mtimeMs: (await a.stat("/docs")).mtimeMs,
          });
          await putFile(a, "/docs/a.txt", "a");
          const entry = await a.stat("/docs/a.txt");
          await journal.put("/docs/a.txt", {
            kind: "file",
            size: entry.size,
            mtimeMs: entry.mtimeMs,
          });
          await a.rename("/docs/a.txt", "/docs/b.txt");
          await journal.rename("/docs/a.txt", "/docs/b.txt");
          await a.remove("/docs/b.txt");
          await journal.delete("/docs/b.txt");
          assert.equal(await journal.sequence(), start + 4, "four changes, four sequences");
          await journal.put("/found.txt", { kind: "file", size: 1, mtimeMs: 1 });
          assert.equal(await journal.sequence(), start + 5, "a change not noted is recorded");
          await journal.close();
        },
      );

      await t.step("the collector deletes an unnamed object and keeps named ones", async () => {
        const { b } = await fresh();
        await putFile(b, "/gone.txt", "soon gone");
        await putFile(b, "/kept.txt", "kept");
        const keys = async () => (await store.list("objects/")).entries.map((object) => object.key);
        await nodeB.collectGarbage(); // What earlier steps left.
        const before = await keys();
        await b.remove("/gone.txt");
        assert.deepEqual(await keys(), before, "the object outlives its name until collected");
        await nodeB.collectGarbage();
        const after = await keys();
        assert.equal(after.length, before.length - 1);
        assert.equal(new TextDecoder().decode(await readFileBytes(b, "/kept.txt")), "kept");
      });

      await t.step(
        "the sweep drops stale uploads; the collector aborts ones no record knows",
        async () => {
          const { user, b } = await fresh();
          const stale = await b.beginUpload("/stale.bin", { size: 10, mtimeMs: 1 });
          await stale.write(new Uint8Array(4));
          await stale.abort(true);
          await ageObjectPartials(database, user, 2 * 3600_000);
          const orphan = await store.createMultipartUpload("objects/orphan");
          const swept = await nodeB.sweepPartials(3600_000);
          assert.deepEqual(swept.filter((entry) => entry.user === user), [{ user, removed: 1 }]);
          assert.equal((await b.listPartials()).count, 0);
          const left = (await store.listMultipartUploads("objects/")).entries;
          assert.ok(
            !left.some((upload) => upload.uploadId === orphan),
            "the unrecorded upload is gone",
          );
          assert.deepEqual(left, [], "and the swept one's too");
        },
      );

      await t.step("with the store unreachable, writes fail clearly and name nothing", async () => {
        const { a } = await fresh();
        const bytes = new TextEncoder().encode("never stored");
        await server.stopGateway();
        try {
          const error = await a.writeFile("/a.txt", bytes, {
            mtimeMs: 1,
            sha256Hex: sha256Hex(bytes),
          })
            .then(() => undefined, (error) => error);
          assert.ok(error instanceof StorageError, String(error));
          assert.equal(statusName(error.code), "IO_ERROR");
          assert.match(error.message, /^\/a\.txt: the object store is unreachable .*; try again$/);
          await assert.rejects(a.stat("/a.txt"), /no such file/);
          await assert.rejects(
            a.beginUpload("/b.bin", { size: 10, mtimeMs: 1 }),
            /the object store is unreachable/,
          );
          assert.equal((await a.listPartials()).count, 0);
        } finally {
          await server.startGateway();
        }
        await a.writeFile("/a.txt", bytes, { mtimeMs: 1, sha256Hex: sha256Hex(bytes) });
        assert.deepEqual(await readFileBytes(a, "/a.txt"), bytes);
      });
    } finally {
      await database.close();
    }
  },
});
