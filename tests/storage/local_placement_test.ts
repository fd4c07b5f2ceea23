/**
 * A small upload walks to its target once, before its bytes are written and
 * synced, and is placed behind a guard (the commit lock) later. The walk is
 * made again behind the guard only if a name under the root was removed,
 * renamed or replaced meanwhile, by any session of the user: these tests
 * change names from another session at that very moment.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import type { PlacementGuard } from "../../src/storage/storage.ts";
import {
  assertAbsent,
  assertStatus,
  bytesOf,
  putFile,
  readFileText,
  sha256Hex,
  TEST_MTIME_MS,
} from "./storage_test_helpers.ts";

/** Two sessions' storages on one user root, removed afterwards. */
async function withTwoSessions(
  body: (root: string, mine: LocalStorage, other: LocalStorage) => Promise<void>,
): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-placement-" }));
  try {
    const root = join(base, "alice");
    const mine = await LocalStorage.open(root);
    const other = await LocalStorage.open(root);
    await body(root, mine, other);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

/** Writes `text` to `path` with a guard that runs `meanwhile` just before the placement. */
function writeWith(
  storage: LocalStorage,
  path: string,
  text: string,
  meanwhile: () => Promise<unknown>,
  overwrite = false,
) {
  const content = bytesOf(text);
  const guard: PlacementGuard = async (place) => {
    await meanwhile();
    return await place();
  };
  return storage.writeFile(path, content, {
    mtimeMs: TEST_MTIME_MS,
    sha256Hex: sha256Hex(content),
    overwrite,
    guard,
  });
}

/** The names left in the private folder of unfinished uploads. */
async function privateLeftovers(root: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(root, ".dfos", "partial"))) names.push(entry.name);
  return names;
}

Deno.test("a folder renamed by another session before the placement: walked again, NOT_FOUND, nothing lands in it", async () => {
  await withTwoSessions(async (root, mine, other) => {
    await mine.mkdir("/tree/d3", { parents: true });
    const upload = writeWith(mine, "/tree/d3/f.txt", "x", () => other.rename("/tree", "/moved"));
    await assertStatus(upload, "NOT_FOUND");
    await assertAbsent(mine, "/moved/d3/f.txt");
    assert.deepEqual(await privateLeftovers(root), []);
  });
});

Deno.test("a folder removed by another session before the placement: walked again, NOT_FOUND, nothing left", async () => {
  await withTwoSessions(async (root, mine, other) => {
    await mine.mkdir("/tree/d3", { parents: true });
    await putFile(mine, "/tree/d3/old.txt", "old");
    const upload = writeWith(
      mine,
      "/tree/d3/f.txt",
      "x",
      () => other.remove("/tree", { recursive: true }),
    );
    await assertStatus(upload, "NOT_FOUND");
    await assertAbsent(mine, "/tree");
    assert.deepEqual(await privateLeftovers(root), []);
  });
});

Deno.test("a symlink on the way replaced by a folder from another session before the placement: the file lands in the new folder", async () => {
  await withTwoSessions(async (root, mine, other) => {
    await mine.mkdir("/real");
    await Deno.symlink("real", join(root, "via"));
    const replaceLink = async () => {
      await other.remove("/via");
      await other.mkdir("/via");
    };
    await writeWith(mine, "/via/f.txt", "x", replaceLink);
    assert.equal((await Deno.lstat(join(root, "via"))).isDirectory, true);
    assert.equal(await Deno.readTextFile(join(root, "via", "f.txt")), "x");
    await assertAbsent(mine, "/real/f.txt");
    assert.deepEqual(await privateLeftovers(root), []);
  });
});

Deno.test("a file created by another session meanwhile (no name changed): the no-clobber placement refuses EXISTS and keeps it", async () => {
  await withTwoSessions(async (root, mine, other) => {
    await mine.mkdir("/tree");
    const upload = writeWith(
      mine,
      "/tree/f.txt",
      "mine",
      () => putFile(other, "/tree/f.txt", "theirs"),
    );
    await assertStatus(upload, "EXISTS");
    assert.equal(await readFileText(mine, "/tree/f.txt"), "theirs");
    assert.deepEqual(await privateLeftovers(root), []);
  });
});

Deno.test("an upload onto a link leading nowhere inside the root is refused EXISTS; the link stays", async () => {
  await withTwoSessions(async (root, mine) => {
    await Deno.symlink("missing.txt", join(root, "nowhere"));
    const upload = writeWith(mine, "/nowhere", "x", () => Promise.resolve());
    await assertStatus(upload, "EXISTS");
    assert.equal(await Deno.readLink(join(root, "nowhere")), "missing.txt");
    await assertAbsent(mine, "/missing.txt");
    assert.deepEqual(await privateLeftovers(root), []);
  });
});

Deno.test("nothing changed meanwhile: the upload is placed under its name", async () => {
  await withTwoSessions(async (_root, mine, other) => {
    await mine.mkdir("/tree/d3", { parents: true });
    const placed = await writeWith(mine, "/tree/d3/f.txt", "x", () => other.stat("/tree"));
    assert.equal(placed.size, 1);
    assert.equal(await readFileText(other, "/tree/d3/f.txt"), "x");
  });
});
