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

/** Where a fresh process with `TMPDIR=tmp` puts its link to /proc/self/fd. */
async function linkFolderOf(tmp: string): Promise<string> {
  const module = new URL("../../src/storage/descriptor_paths.ts", import.meta.url).href;
  const script = `import { descriptorPath } from "${module}"; console.log(descriptorPath(0));`;
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env: { TMPDIR: tmp },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim().replace(/\/fd\/0$/, "");
}

Deno.test("processes share one link folder per account, and refuse one others could write", async () => {
  await withFolders(async (tmp) => {
    const uid = (await Deno.lstat(tmp)).uid;
    const shared = join(tmp, `dfos-fd-${uid}`);
    assert.equal(await linkFolderOf(tmp), shared);
    assert.equal(await linkFolderOf(tmp), shared, "the second process reuses it");
    assert.equal((await Deno.lstat(shared)).mode! & 0o777, 0o700);
    assert.equal(await Deno.readLink(join(shared, "fd")), "/proc/self/fd");
    await Deno.chmod(shared, 0o777);
    const fallback = await linkFolderOf(tmp);
    assert.notEqual(fallback, shared, "a folder others may write is not used");
    assert.match(fallback, /\/dfos-fd-[^/]+$/);
  });
});
