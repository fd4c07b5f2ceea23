import assert from "node:assert/strict";
import { Database } from "../../src/database/database.ts";
import { ObjectMetadata } from "../../src/database/object_metadata.ts";
import { claimGarbage, forgetObjects } from "../../src/database/object_records.ts";
import { PostgresJournal } from "../../src/database/postgres_journal.ts";
import { sha256 } from "../helpers/files.ts";
import { assertStatus } from "../storage/storage_test_helpers.ts";
import { databaseTest, withMigratedDatabase } from "./database_fixture.ts";

let keys = 0;

/** Records an object for `text`, as the backend does around storing its bytes; resolves to its id. */
async function storedObject(metadata: ObjectMetadata, text: string): Promise<number> {
  const bytes = new TextEncoder().encode(text);
  const id = await metadata.recordObject({ key: `objects/${++keys}`, size: bytes.length });
  await metadata.markStored(id, sha256(bytes));
  return id;
}

async function placeText(metadata: ObjectMetadata, path: string, text: string, overwrite = false) {
  const objectId = await storedObject(metadata, text);
  return await metadata.placeFile(path, { objectId, mtimeMs: 1_000, overwrite });
}

/** alice's metadata as two nodes see it, each through a pool of its own on one database. */
function withTwoNodes(body: (mine: ObjectMetadata, theirs: ObjectMetadata) => Promise<void>) {
  return withMigratedDatabase(async (database, { url }) => {
    const otherNode = Database.open(url);
    try {
      await body(
        await ObjectMetadata.open(database, "alice"),
        await ObjectMetadata.open(otherNode, "alice"),
      );
    } finally {
      await otherNode.close();
    }
  });
}

const names = async (metadata: ObjectMetadata, path: string) =>
  (await metadata.list(path)).map((entry) => entry.name);

databaseTest(
  "folders and files: made, listed in UTF-8 byte order, stated, removed",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      await metadata.mkdir("/a/b/c", { parents: true });
      await metadata.mkdir("/a/b/c", { parents: true });
      await assertStatus(metadata.mkdir("/a"), "EXISTS");
      await assertStatus(metadata.mkdir("/x/y"), "NOT_FOUND");
      for (const name of ["\u{1F600}", "\uFF5E", "Z", "a", "a-b", "a.txt"]) {
        await placeText(metadata, `/a/${name}`, name);
      }
      assert.deepEqual(await names(metadata, "/a"), [
        "Z",
        "a",
        "a-b",
        "a.txt",
        "b",
        "\uFF5E",
        "\u{1F600}",
      ]);
      const file = await metadata.stat("/a/a.txt");
      assert.equal(file.kind, "file");
      assert.equal(file.size, 5);
      assert.equal(file.sha256, sha256(new TextEncoder().encode("a.txt")));
      await assertStatus(metadata.list("/a/a.txt"), "NOT_A_DIRECTORY");
      await assertStatus(metadata.mkdir("/a/a.txt/d", { parents: true }), "NOT_A_DIRECTORY");
      await assertStatus(metadata.rmdir("/a/b"), "NOT_EMPTY");
      await assertStatus(metadata.remove("/a/b"), "IS_A_DIRECTORY");
      await assertStatus(metadata.placeFile("/a/b", { objectId: 1, mtimeMs: 1 }), "IS_A_DIRECTORY");
      await metadata.rmdir("/a/b/c");
      await metadata.remove("/a", { recursive: true });
      assert.deepEqual(await names(metadata, "/"), []);
      await assertStatus(metadata.stat("/a/Z"), "NOT_FOUND");
      await assertStatus(metadata.remove("/"), "PERMISSION_DENIED");
    }),
);

databaseTest(
  "a folder's own time is kept as given until something changes in it",
  () =>
    withMigratedDatabase(async (database) => {
      let now = 5_000;
      const metadata = await ObjectMetadata.open(database, "alice", { now: () => now });
      await metadata.mkdir("/d");
      await metadata.setMtime("/d", 42);
      assert.equal((await metadata.stat("/d")).mtimeMs, 42);
      now = 6_000;
      await placeText(metadata, "/d/f.txt", "x");
      assert.equal((await metadata.stat("/d")).mtimeMs, 6_000);
      await assertStatus(metadata.setMtime("/none", 1), "NOT_FOUND");
      await assertStatus(metadata.setMtime("/d", -1), "BAD_REQUEST");
    }),
);

databaseTest(
  "a rename of a file or a folder moves every name inside it; EXISTS unless overwrite; never into itself",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      await metadata.mkdir("/src/deep", { parents: true });
      await placeText(metadata, "/src/deep/f.txt", "f");
      await placeText(metadata, "/src-sibling.txt", "s");
      await metadata.mkdir("/dst");
      await metadata.rename("/src", "/dst/moved");
      assert.deepEqual(await names(metadata, "/dst/moved/deep"), ["f.txt"]);
      assert.deepEqual(await names(metadata, "/"), ["dst", "src-sibling.txt"]);
      await assertStatus(metadata.rename("/dst", "/dst/moved/deep/x"), "BAD_REQUEST");
      await assertStatus(metadata.rename("/src-sibling.txt", "/dst"), "EXISTS");
      await assertStatus(
        metadata.rename("/src-sibling.txt", "/dst", { overwrite: true }),
        "IS_A_DIRECTORY",
      );
      await placeText(metadata, "/other.txt", "o");
      await metadata.rename("/other.txt", "/src-sibling.txt", { overwrite: true });
      assert.equal((await metadata.stat("/src-sibling.txt")).size, 1);
      await assertStatus(metadata.stat("/other.txt"), "NOT_FOUND");
      await assertStatus(metadata.rename("/none", "/x"), "NOT_FOUND");
      await assertStatus(metadata.rename("/dst", "/no/such/folder"), "NOT_FOUND");
    }),
);

databaseTest(
  "a listing during renames of a 300-file folder sees it whole in one place, never half moved",
  () =>
    withMigratedDatabase(async (database, { url }) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      await metadata.mkdir("/left");
      await metadata.mkdir("/right");
      await metadata.mkdir("/left/big");
      const objectId = await storedObject(metadata, "same content");
      for (let index = 0; index < 300; index++) {
        await metadata.placeFile(`/left/big/f${index}`, { objectId, mtimeMs: 1 });
      }
      const otherNode = Database.open(url);
      try {
        const watcher = await ObjectMetadata.open(otherNode, "alice");
        let renames = 0;
        const renaming = (async () => {
          for (; renames < 20; renames++) {
            const [from, to] = renames % 2 === 0 ? ["left", "right"] : ["right", "left"];
            await metadata.rename(`/${from}/big`, `/${to}/big`);
          }
        })();
        let listings = 0;
        while (renames < 20) {
          const [left, right] = await Promise.all([
            watcher.list("/left/big").then((list) => list.length, () => 0),
            watcher.list("/right/big").then((list) => list.length, () => 0),
          ]);
          assert.ok([0, 300].includes(left) && [0, 300].includes(right), `${left} + ${right}`);
          listings++;
        }
        await renaming;
        assert.ok(listings > 0);
        assert.equal((await watcher.list("/left/big")).length, 300);
      } finally {
        await otherNode.close();
      }
    }),
);

databaseTest(
  "two nodes creating one name at once: one wins, the other gets EXISTS",
  () =>
    withTwoNodes(async (mine, theirs) => {
      for (let round = 0; round < 10; round++) {
        const folders = await Promise.allSettled([
          mine.mkdir(`/d${round}`),
          theirs.mkdir(`/d${round}`),
        ]);
        assert.deepEqual(folders.map((result) => result.status).sort(), [
          "fulfilled",
          "rejected",
        ]);
        const [a, b] = [await storedObject(mine, "a"), await storedObject(theirs, "b")];
        const files = await Promise.allSettled([
          mine.placeFile(`/f${round}`, { objectId: a, mtimeMs: 1, dedupe: false }),
          theirs.placeFile(`/f${round}`, { objectId: b, mtimeMs: 1, dedupe: false }),
        ]);
        const lost = files.find((result) => result.status === "rejected");
        assert.equal(files.filter((result) => result.status === "fulfilled").length, 1);
        await assertStatus(Promise.reject((lost as PromiseRejectedResult).reason), "EXISTS");
      }
    }),
);

databaseTest(
  "two nodes making one folder with parents at once: both succeed, as mkdir -p does; a file in the way still refuses",
  () =>
    withTwoNodes(async (mine, theirs) => {
      for (let round = 0; round < 10; round++) {
        await Promise.all([
          mine.mkdir(`/w${round}/deep`, { parents: true }),
          theirs.mkdir(`/w${round}/deep`, { parents: true }),
          theirs.mkdir(`/w${round}`, { parents: true }),
        ]);
        assert.deepEqual(await names(mine, `/w${round}`), ["deep"]);
      }
      await placeText(mine, "/file", "x");
      await assertStatus(theirs.mkdir("/file", { parents: true }), "EXISTS");
      await assertStatus(theirs.mkdir("/file/sub", { parents: true }), "NOT_A_DIRECTORY");
    }),
);

databaseTest(
  "only a stored object gets a name; a replaced or removed file's object is collected after the grace period, a named one never",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      const pending = await metadata.recordObject({ key: "objects/pending", size: 1 });
      await assertStatus(metadata.placeFile("/p", { objectId: pending, mtimeMs: 1 }), "IO_ERROR");
      await assertStatus(metadata.stat("/p"), "NOT_FOUND");
      const old = await placeText(metadata, "/f.txt", "old");
      await assertStatus(placeText(metadata, "/f.txt", "new"), "EXISTS");
      const fresh = await placeText(metadata, "/f.txt", "newer", true);
      assert.equal((await metadata.stat("/f.txt")).objectId, fresh.objectId);
      assert.deepEqual(await claimGarbage(database, 60_000), [], "nothing is old enough yet");
      const garbage = await claimGarbage(database, 0);
      const named = new Set([fresh.objectId]);
      assert.ok(garbage.some((object) => object.id === old.objectId), "the replaced one");
      assert.ok(garbage.every((object) => !named.has(object.id)), "never a named one");
      assert.equal(
        await forgetObjects(database, garbage.map((object) => object.id)),
        garbage.length,
      );
      await metadata.remove("/f.txt");
      assert.deepEqual((await claimGarbage(database, 0)).map((object) => object.id), [
        fresh.objectId,
      ]);
    }),
);

databaseTest(
  "a file of content already stored names the older object (dedupe); the new one is garbage",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      const first = await placeText(metadata, "/a.txt", "same");
      const second = await placeText(metadata, "/b.txt", "same");
      assert.equal(second.deduplicated, true);
      assert.equal(second.objectId, first.objectId);
      assert.equal((await metadata.stat("/b.txt")).objectId, first.objectId);
      assert.equal(await metadata.usage(), 8, "counted once per name");
      const bob = await ObjectMetadata.open(database, "bob");
      assert.equal(
        (await placeText(bob, "/a.txt", "same")).deduplicated,
        false,
        "not across users",
      );
    }),
);

databaseTest(
  "with the journal on, each change and its journal entry commit together or not at all",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice", { journal: true });
      const journal = await PostgresJournal.open(database, "alice");
      await metadata.mkdir("/d");
      await placeText(metadata, "/d/f.txt", "f");
      await metadata.rename("/d", "/e");
      await assertStatus(metadata.rename("/e", "/e/inside"), "BAD_REQUEST");
      await assertStatus(placeText(metadata, "/e/f.txt", "again"), "EXISTS");
      await metadata.remove("/e", { recursive: true });
      const answer = await journal.since(journal.id, 0, { limit: 10 });
      assert.ok(answer.kind === "changes");
      assert.deepEqual(answer.changes.map((change) => [change.op, change.path]), [
        ["mkdir", "/d"],
        ["put", "/d/f.txt"],
        ["rename", "/e"],
        ["delete", "/e"],
      ]);
      assert.deepEqual(await journal.entriesAfter("/", null, 10), []);
    }),
);

databaseTest(
  "paths, keys and hashes out of bounds are refused before they reach the database",
  () =>
    withMigratedDatabase(async (database) => {
      const metadata = await ObjectMetadata.open(database, "alice");
      await assertStatus(metadata.mkdir("/" + "x".repeat(3073)), "INVALID_PATH");
      await assertStatus(metadata.stat("relative"), "INVALID_PATH");
      await assertStatus(metadata.list("/a/../b"), "INVALID_PATH");
      await assertStatus(metadata.recordObject({ key: "k".repeat(1025), size: 1 }), "BAD_REQUEST");
      await assertStatus(metadata.recordObject({ key: "k", size: -1 }), "BAD_REQUEST");
      const id = await metadata.recordObject({ key: "k", size: 1 });
      await assertStatus(metadata.markStored(id, "ABC"), "BAD_REQUEST");
      assert.deepEqual(await names(metadata, "/"), []);
    }),
);
