import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { JOURNAL_FILE, openLocalJournal } from "../../src/storage/local_journal.ts";
import { PinnedDirectory } from "../../src/storage/pinned_directory.ts";
import { assertStatus, putFile } from "./storage_test_helpers.ts";

async function withRoot(body: (base: string, root: string) => Promise<void>): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-journal-" }));
  try {
    await body(base, join(base, "alice"));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();

Deno.test("the journal lives in .dfos/journal.db, out of the user's listing, and refuses a .dfos that is a link", () =>
  withRoot(async (base, root) => {
    const storage = await LocalStorage.open(root);
    const journal = await storage.openJournal();
    await journal.put("/a.txt", { kind: "file", size: 1, mtimeMs: 1 });
    assert.deepEqual(names(join(root, ".dfos")), [JOURNAL_FILE, `${JOURNAL_FILE}-wal`]);
    await journal.close();
    assert.deepEqual(names(join(root, ".dfos")), [JOURNAL_FILE], "the log folded in on close");
    assert.deepEqual(await storage.list("/"), []);
    const elsewhere = join(base, "elsewhere");
    await Deno.mkdir(elsewhere);
    await Deno.rename(join(root, ".dfos"), join(base, "old-dfos"));
    await Deno.symlink(elsewhere, join(root, ".dfos"));
    await assertStatus(storage.openJournal(), "PERMISSION_DENIED");
    assert.deepEqual(names(elsewhere), []);
  }));

Deno.test("a .dfos swapped for a link after it was pinned: the journal opens in the pinned folder, and its close removes nothing by the old path", () =>
  withRoot(async (base, root) => {
    const dfos = join(root, ".dfos");
    const moved = join(root, "moved");
    const elsewhere = join(base, "elsewhere");
    await Deno.mkdir(dfos, { recursive: true });
    await Deno.mkdir(elsewhere);
    const pinned = PinnedDirectory.open(dfos);
    await Deno.rename(dfos, moved);
    await Deno.symlink(elsewhere, dfos);
    const journal = openLocalJournal(pinned);
    await journal.put("/a.txt", { kind: "file", size: 1, mtimeMs: 1 });
    assert.deepEqual(names(moved), [JOURNAL_FILE, `${JOURNAL_FILE}-wal`]);
    // Another folder takes the path SQLite resolved, holding a file named like its log.
    await Deno.rename(moved, join(root, "moved-again"));
    await Deno.mkdir(moved);
    await Deno.writeTextFile(join(moved, `${JOURNAL_FILE}-wal`), "not the journal's");
    await journal.close(); // SQLite sees that the path no longer holds its database.
    assert.equal(await Deno.readTextFile(join(moved, `${JOURNAL_FILE}-wal`)), "not the journal's");
    assert.deepEqual(names(join(root, "moved-again")), [JOURNAL_FILE, `${JOURNAL_FILE}-wal`]);
    assert.deepEqual(names(elsewhere), [], "nothing made or removed in the link's target");
  }));

Deno.test("lstat describes a link as itself; the canonical path resolves links on the way, the last one on request", () =>
  withRoot(async (_base, root) => {
    const storage = await LocalStorage.open(root);
    await storage.mkdir("/real");
    await putFile(storage, "/real/a.txt", "a");
    await Deno.symlink("real", join(root, "link"));
    assert.equal((await storage.lstat("/link")).kind, "symlink");
    assert.equal((await storage.lstat("/link/a.txt")).kind, "file");
    assert.equal(await storage.canonicalPath("/link/a.txt"), "/real/a.txt");
    assert.equal(await storage.canonicalPath("/link"), "/link");
    assert.equal(await storage.canonicalPath("/link", { followLast: true }), "/real");
    assert.equal(await storage.canonicalPath("/link/new.txt"), "/real/new.txt");
  }));

Deno.test("a journal.db that is not a regular file is refused with a clear error and left as it is", () =>
  withRoot(async (_base, root) => {
    const storage = await LocalStorage.open(root);
    await Deno.mkdir(join(root, ".dfos", JOURNAL_FILE, "inside"), { recursive: true });
    const error = await assertStatus(storage.openJournal(), "IO_ERROR");
    assert.match(error.message, /\/\.dfos\/journal\.db: not a regular file/);
    assert.deepEqual(names(join(root, ".dfos", JOURNAL_FILE)), ["inside"]);
  }));
