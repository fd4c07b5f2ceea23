import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { ObjectMetadata } from "../../src/database/object_metadata.ts";
import { claimGarbage } from "../../src/database/object_records.ts";
import { staleUploads, UploadRecords } from "../../src/database/upload_records.ts";
import { assertStatus } from "../storage/storage_test_helpers.ts";
import { databaseTest, withMigratedDatabase } from "./database_fixture.ts";

const SHA = "a".repeat(64);
const UPLOAD = {
  path: "/big.bin",
  size: 10,
  mtimeMs: 7,
  objectKey: "objects/up",
  storeUploadId: "u1",
};

databaseTest(
  "an upload's parts are recorded as they complete; another node resumes from them and completes it under its name",
  () =>
    withMigratedDatabase(async (database, { url }) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      const uploads = new UploadRecords(database, metadata);
      const begun = await uploads.begin(UPLOAD);
      await assertStatus(uploads.begin(UPLOAD), "EXISTS");
      await uploads.recordPart(begun.id, { number: 1, size: 6, etag: "e1" });
      assert.equal(await metadata.usage(), 6, "the parts count in the usage");
      assert.deepEqual(await claimGarbage(database, 0), [], "an upload's object is not garbage");
      const otherNode = Database.open(url);
      try {
        const resumed = new UploadRecords(otherNode, await ObjectMetadata.open(otherNode, "alice"));
        const found = await resumed.find(UPLOAD.path, UPLOAD.size, UPLOAD.mtimeMs);
        assert.deepEqual(found?.parts, [{ number: 1, size: 6, etag: "e1" }]);
        assert.equal(found?.storeUploadId, "u1");
        await assertStatus(resumed.complete(begun.id, SHA), "BAD_REQUEST");
        await resumed.recordPart(begun.id, { number: 2, size: 4, etag: "e2" });
        const placed = await resumed.complete(begun.id, SHA);
        assert.equal(placed.entry.size, 10);
      } finally {
        await otherNode.close();
      }
      const file = await metadata.stat("/big.bin");
      assert.equal(file.sha256, SHA);
      assert.equal(await uploads.find(UPLOAD.path, UPLOAD.size, UPLOAD.mtimeMs), undefined);
      assert.equal(await metadata.usage(), 10);
    }),
);

databaseTest(
  "an upload whose name is taken meanwhile keeps its record; a discarded one leaves its object to the collector",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      const uploads = new UploadRecords(database, metadata);
      const begun = await uploads.begin(UPLOAD);
      await uploads.recordPart(begun.id, { number: 1, size: 10, etag: "e" });
      await metadata.mkdir("/big.bin");
      await assertStatus(uploads.complete(begun.id, SHA), "IS_A_DIRECTORY");
      assert.equal((await uploads.list()).length, 1, "nothing of the completion applied");
      assert.deepEqual((await staleUploads(database, 0)).map((upload) => upload.id), [begun.id]);
      assert.deepEqual(await staleUploads(database, 60_000), []);
      const discarded = await uploads.discard(begun.id);
      assert.equal(discarded?.objectKey, "objects/up");
      assert.deepEqual((await claimGarbage(database, 0)).map((object) => object.key), [
        "objects/up",
      ]);
    }),
);

databaseTest(
  "parts out of bounds are refused and nothing is recorded",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      const uploads = new UploadRecords(database, metadata);
      const begun = await uploads.begin(UPLOAD);
      for (
        const part of [{ number: 0, size: 1, etag: "e" }, { number: 10_001, size: 1, etag: "e" }, {
          number: 1,
          size: -1,
          etag: "e",
        }, { number: 1, size: 1, etag: "" }]
      ) {
        await assertStatus(uploads.recordPart(begun.id, part), "BAD_REQUEST");
      }
      await assertStatus(
        uploads.recordPart(begun.id + 1, { number: 1, size: 1, etag: "e" }),
        "NOT_FOUND",
      );
      assert.deepEqual((await uploads.list())[0].parts, []);
      await assertStatus(
        uploads.begin({ ...UPLOAD, path: "/x", storeUploadId: "" }),
        "BAD_REQUEST",
      );
    }),
);
