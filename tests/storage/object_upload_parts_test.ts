/**
 * Uploads on the object-store backend keep two parts on their way to the
 * store while the next fills, on a real radosgw and PostgreSQL: stopped with
 * both in flight, the upload keeps what was stored and resumes on another
 * node from the last byte kept; a part that failed while the one after it
 * was stored resumes from the failed part, and the whole reads back right.
 */

import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { migrate } from "../../src/database/migrations.ts";
import { ObjectStorageProvider } from "../../src/storage/object/object_provider.ts";
import type { ObjectStore } from "../../src/storage/object/object_store.ts";
import { PART_SIZE } from "../../src/storage/object/object_backend.ts";
import { MAX_PARTS_IN_FLIGHT } from "../../src/storage/object/object_upload_parts.ts";
import type { Upload } from "../../src/storage/storage.ts";
import { OBJECT_STORE_MISSING, startObjectStore } from "../helpers/ceph.ts";
import { seededBytes } from "../helpers/files.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import { newStore } from "./object_store_helpers.ts";
import { readFileBytes, sha256Hex, TEST_MTIME_MS } from "./storage_test_helpers.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing();

/** How long a test waits for parts to reach the store before it fails. */
const WAIT_MS = 20_000;

/**
 * A store whose part uploads wait at a gate: `entered(n)` resolves once n
 * parts are waiting; `open(fail)` lets them go, failing the part numbers in `fail`.
 */
function gated(store: ObjectStore) {
  let waiting = 0;
  let gate: Promise<void> | undefined;
  let failing = new Set<number>();
  const listeners: { count: number; resolve: () => void }[] = [];
  let openGate = () => {};
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      if (name !== "uploadPart") return value.bind(target);
      return async (...args: unknown[]) => {
        if (gate) {
          waiting++;
          for (const listener of listeners) if (waiting >= listener.count) listener.resolve();
          await gate;
          if (failing.has(args[2] as number)) throw new Error("the store broke this part");
        }
        return await value.apply(target, args);
      };
    },
  });
  return {
    store: counted as ObjectStore,
    close() {
      waiting = 0;
      gate = new Promise((resolve) => openGate = resolve);
    },
    entered(count: number): Promise<void> {
      const { promise, resolve } = Promise.withResolvers<void>();
      listeners.push({ count, resolve });
      if (waiting >= count) resolve();
      const timer = setTimeout(() => resolve(), WAIT_MS);
      return promise.finally(() => clearTimeout(timer)).then(() =>
        assert.ok(waiting >= count, `${count} parts on their way at once, not ${waiting}`)
      );
    },
    open(fail: number[] = []) {
      failing = new Set(fail);
      gate = undefined;
      openGate();
    },
  };
}

/** Writes `bytes` from `from` to `to` in 1 MiB chunks. */
async function writeFrom(upload: Upload, bytes: Uint8Array, from: number, to = bytes.length) {
  for (let start = from; start < to; start += 1024 * 1024) {
    await upload.write(bytes.subarray(start, Math.min(start + 1024 * 1024, to)));
  }
}

Deno.test({
  name: "ObjectStorage uploads with parts in flight" + (missing ? ` (skipped: ${missing})` : ""),
  ignore: missing !== undefined,
  async fn(t) {
    await using server = await startObjectStore();
    const database = Database.open(await (await sharedPostgres()).createDatabase());
    await migrate(database);
    const gate = gated(await newStore(server, "parts"));
    const node = () =>
      new ObjectStorageProvider("s3://parts/parts", { database, store: gate.store });
    const nodeA = node();
    const nodeB = node();
    await nodeA.prepare();
    await nodeB.prepare();
    let users = 0;
    const fresh = async () => {
      const user = `user${++users}`;
      return { a: await nodeA.open(user), b: await nodeB.open(user) };
    };
    assert.equal(MAX_PARTS_IN_FLIGHT, 2, "the cases below are written for two parts in flight");
    const bytes = seededBytes(3 * PART_SIZE + 4321, 7);
    const options = { size: bytes.length, mtimeMs: TEST_MTIME_MS };
    const stop = 2 * PART_SIZE + 1024 * 1024;
    try {
      await t.step("stopped with two parts in flight, it resumes after both", async () => {
        const { a, b } = await fresh();
        const first = await a.beginUpload("/big.bin", options);
        gate.close();
        const writing = writeFrom(first, bytes, 0, stop);
        await gate.entered(2); // The second part went out while the first was on its way.
        await writing; // The bytes after them arrived meanwhile.
        const aborting = first.abort(true); // As a session ending mid-upload does.
        gate.open();
        await aborting;
        assert.equal((await b.listPartials()).partials[0].received, stop);
        const second = await b.beginUpload("/big.bin", options);
        assert.equal(second.offset, stop, "both parts and the tail are kept");
        await writeFrom(second, bytes, second.offset);
        await second.commit(sha256Hex(bytes));
        assert.deepEqual(await readFileBytes(a, "/big.bin"), bytes);
        assert.equal((await a.listPartials()).count, 0);
      });

      await t.step(
        "a part failing while the next is stored resumes from the failed one",
        async () => {
          const { a, b } = await fresh();
          const first = await a.beginUpload("/big.bin", options);
          gate.close();
          const writing = writeFrom(first, bytes, 0, stop);
          await gate.entered(2);
          await writing;
          const aborting = first.abort(true);
          gate.open([1]); // Part 2 is stored and recorded; part 1 is not.
          await aborting;
          const second = await b.beginUpload("/big.bin", options);
          assert.equal(second.offset, PART_SIZE, "the failed part's bytes are kept as the tail");
          await writeFrom(second, bytes, second.offset);
          await second.commit(sha256Hex(bytes));
          assert.deepEqual(await readFileBytes(a, "/big.bin"), bytes);
          assert.equal((await a.listPartials()).count, 0);
        },
      );
    } finally {
      gate.open();
      await database.close();
    }
  },
});
