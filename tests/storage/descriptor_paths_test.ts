/**
 * The runtime facts path confinement stands on (src/storage/descriptor_paths.ts):
 * calls through a descriptor path act in the open folder even after its
 * path now leads elsewhere, and opens never block on a FIFO or open one as
 * a folder. A Deno upgrade that changes either must fail here.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  closeFd,
  descriptorPath,
  entryPath,
  openDirectoryFd,
  openFileFd,
  sameEntry,
  statFd,
} from "../../src/storage/descriptor_paths.ts";

async function withFolders(body: (base: string) => Promise<void> | void): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-fd-test-" }));
  try {
    await body(base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

Deno.test("calls through a descriptor path act in the open folder, not in what its path names now", async () => {
  await withFolders(async (base) => {
    await Deno.mkdir(join(base, "kept"));
    await Deno.writeTextFile(join(base, "kept", "f"), "kept");
    const fd = openDirectoryFd(join(base, "kept"));
    try {
      await Deno.rename(join(base, "kept"), join(base, "moved"));
      await Deno.mkdir(join(base, "impostor"));
      await Deno.symlink(join(base, "impostor"), join(base, "kept"));
      assert.ok(sameEntry(statFd(fd), await Deno.stat(join(base, "moved"))));
      assert.equal(Deno.lstatSync(entryPath(fd, "f")).size, 4);
      Deno.mkdirSync(entryPath(fd, "made"));
      Deno.renameSync(entryPath(fd, "made"), entryPath(fd, "renamed"));
      Deno.linkSync(entryPath(fd, "f"), entryPath(fd, "hard"));
      Deno.removeSync(entryPath(fd, "hard"));
      Deno.utimeSync(entryPath(fd, "f"), 1, 2);
      assert.deepEqual([...Deno.readDirSync(descriptorPath(fd))].map((e) => e.name).sort(), [
        "f",
        "renamed",
      ]);
      assert.deepEqual([...Deno.readDirSync(join(base, "impostor"))], []);
      assert.equal((await Deno.stat(join(base, "moved", "f"))).mtime?.getTime(), 2000);
    } finally {
      closeFd(fd);
    }
  });
});

Deno.test("a recursive removal through a descriptor path does not follow a link inside", async () => {
  await withFolders(async (base) => {
    await Deno.mkdir(join(base, "outside"));
    await Deno.writeTextFile(join(base, "outside", "keep.txt"), "keep");
    await Deno.mkdir(join(base, "root", "tree", "deep"), { recursive: true });
    await Deno.symlink(join(base, "outside"), join(base, "root", "tree", "deep", "escape"));
    const fd = openDirectoryFd(join(base, "root"));
    try {
      await Deno.remove(entryPath(fd, "tree"), { recursive: true });
    } finally {
      closeFd(fd);
    }
    assert.equal(await Deno.readTextFile(join(base, "outside", "keep.txt")), "keep");
    assert.deepEqual([...Deno.readDirSync(join(base, "root"))], []);
  });
});

Deno.test("a FIFO is never opened as a folder, and opening it to read does not block", async () => {
  await withFolders(async (base) => {
    const fifo = join(base, "fifo");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo");
    assert.throws(() => openDirectoryFd(fifo), Deno.errors.NotADirectory);
    const fd = openFileFd(fifo);
    try {
      const info = statFd(fd);
      assert.ok(!info.isFile && !info.isDirectory, "the open shows a FIFO, which callers refuse");
    } finally {
      closeFd(fd);
    }
  });
});

Deno.test("an entry path takes one plain name only", () => {
  for (const name of ["", ".", "..", "a/b", "a\0b"]) {
    assert.throws(() => entryPath(3, name), RangeError, JSON.stringify(name));
  }
});
