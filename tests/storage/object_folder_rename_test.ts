/**
 * A folder of 1,000 files and 1 GiB renamed on the object-store backend
 * (real radosgw and PostgreSQL) is one metadata change: the store gets no
 * request, the journal one entry, and a listing running meanwhile sees the
 * folder whole under its old name or whole under its new one, never half
 * moved.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Database } from "../../src/database/database.ts";
import { migrate } from "../../src/database/migrations.ts";
import { ObjectStorageProvider } from "../../src/storage/object/object_provider.ts";
import type { ObjectStore } from "../../src/storage/object/object_store.ts";
import { OBJECT_STORE_MISSING, startObjectStore } from "../helpers/ceph.ts";
import { postgresMissing, sharedPostgres } from "../helpers/postgres.ts";
import { newStore } from "./object_store_helpers.ts";
import { sha256Hex } from "./storage_test_helpers.ts";
import { type Storage, StorageError } from "../../src/storage/storage.ts";
import { STATUS } from "../../src/protocol/status.ts";

const missing = OBJECT_STORE_MISSING ?? postgresMissing();

const FILES = 1000;
/** One of the files is this large, the others a few bytes: the folder holds 1 GiB. */
const BIG_BYTES = 2 ** 30;
/** The OSD keeps objects in memory: room for the big file (the tests' default is 512 MiB). */
const OSD_BYTES = 2 ** 31;

/** Counts every request made of `store`. */
function counting(store: ObjectStore) {
  let calls = 0;
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls++;
        return value.apply(target, args);
      };
    },
  });
  return { store: counted as ObjectStore, calls: () => calls };
}

Deno.test({
  name:
    `a folder of ${FILES} files and 1 GiB renamed is one metadata change, never seen half done` +
    (missing ? ` (skipped: ${missing})` : ""),
  ignore: missing !== undefined,
  async fn() {
    // Every Ceph program reads CEPH_ARGS; set only while this cluster starts.
    Deno.env.set("CEPH_ARGS", `--memstore_device_bytes=${OSD_BYTES}`);
    await using server = await startObjectStore().finally(() => Deno.env.delete("CEPH_ARGS"));
    const database = Database.open(await (await sharedPostgres()).createDatabase());
    try {
      await migrate(database);
      const { store, calls } = counting(await newStore(server, "rename"));
      const provider = new ObjectStorageProvider("s3://rename/rename", { database, store });
      await provider.prepare();
      const storage = await provider.open("user1");
      await storage.mkdir("/docs/deep", { parents: true });
      const content = new TextEncoder().encode("the same bytes in every file\n");
      const sha256 = sha256Hex(content);
      const paths = Array.from({ length: FILES }, (_, index) =>
        // One object, named 1,000 times.
        `/docs/${index % 2 ? "deep/" : ""}f${index}`);
      await uploadBig(storage, paths[0]);
      for (let start = 1; start < FILES; start += 10) {
        await Promise.all(
          paths.slice(start, start + 10).map((path) =>
            storage.writeFile(path, content, { mtimeMs: 1, sha256Hex: sha256 })
          ),
        );
      }
      assert.equal((await storage.stat(paths[0])).size, BIG_BYTES);
      const journal = await storage.openJournal();
      const sequence = await journal.sequence();
      const before = calls();

      let renamed = false;
      const seen = { old: 0, new: 0 };
      const listing = (async () => {
        while (!renamed) {
          const names = (await storage.list("/")).map((entry) => entry.name);
          const present = ["docs", "papers"].filter((name) => names.includes(name));
          assert.equal(present.length, 1, `one folder, not ${present}`);
          present[0] === "docs" ? seen.old++ : seen.new++;
          for (const folder of ["/docs", "/papers"]) {
            for (const path of [folder, `${folder}/deep`]) {
              const count = await filesIn(storage, path);
              assert.ok(count === undefined || count === FILES / 2, `${path}: ${count} files`);
            }
          }
        }
      })();
      await storage.rename("/docs", "/papers").finally(() => renamed = true);
      await listing;

      assert.equal(calls() - before, 0, "the rename sent the store no request");
      assert.equal(await journal.sequence(), sequence + 1, "one change in the journal");
      await journal.close();
      assert.equal(await filesIn(storage, "/papers"), FILES / 2);
      assert.equal(await filesIn(storage, "/papers/deep"), FILES / 2);
      assert.equal(await filesIn(storage, "/docs"), undefined);
      assert.equal((await storage.stat(paths[0].replace("/docs", "/papers"))).size, BIG_BYTES);
      assert.ok(seen.old > 0, `listings ran while the rename did (${JSON.stringify(seen)})`);
    } finally {
      await database.close();
    }
  },
});

/** Files listed in `folder` in one listing; undefined if it does not exist. */
async function filesIn(storage: Storage, folder: string): Promise<number | undefined> {
  try {
    return (await storage.list(folder)).filter((entry) => entry.kind === "file").length;
  } catch (error) {
    if (error instanceof StorageError && error.code === STATUS.NOT_FOUND) return undefined;
    throw error;
  }
}

/** Uploads BIG_BYTES of random bytes to `path`, 8 MiB at a time, each block of its own. */
async function uploadBig(storage: Storage, path: string): Promise<void> {
  const pattern = crypto.getRandomValues(new Uint8Array(65536));
  const template = new Uint8Array(8 * 2 ** 20);
  for (let offset = 0; offset < template.length; offset += pattern.length) {
    template.set(pattern, offset);
  }
  const hash = createHash("sha256");
  const upload = await storage.beginUpload(path, { size: BIG_BYTES, mtimeMs: 1 });
  for (let index = 0; index * template.length < BIG_BYTES; index++) {
    const block = template.slice(); // The upload may hold on to what it was given.
    block[0] = index;
    hash.update(block);
    await upload.write(block);
  }
  await upload.commit(hash.digest("hex"));
}
