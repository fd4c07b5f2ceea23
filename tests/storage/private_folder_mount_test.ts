/**
 * The private .dfos folder is refused by its inode, not only by its name:
 * mounted a second time elsewhere in the tree (a bind mount), it exposes
 * nothing there either. Needs the right to mount (root), else ignored.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../src/storage/local_storage.ts";
import { partialFileName } from "../../src/storage/local_upload.ts";
import { exactSnapshot } from "../helpers/race.ts";
import { assertStatus, bytesOf, putFile, TEST_MTIME_MS } from "./storage_test_helpers.ts";

async function bindMount(source: string, target: string): Promise<boolean> {
  try {
    const result = await new Deno.Command("mount", {
      args: ["--bind", source, target],
      stdout: "null",
      stderr: "null",
    }).output();
    return result.success;
  } catch {
    return false; // No mount command at all.
  }
}

async function unmount(target: string): Promise<void> {
  await new Deno.Command("umount", { args: ["-l", target], stderr: "null" }).output();
}

/** Whether this process may bind-mount (root, or a mount namespace): probed once. */
async function canBindMount(): Promise<boolean> {
  const probe = await Deno.makeTempDir({ prefix: "dfos-bind-probe-" });
  const mounted = await bindMount(probe, probe);
  if (mounted) await unmount(probe);
  await Deno.remove(probe);
  return mounted;
}

const bindMountable = await canBindMount();
if (!bindMountable) {
  console.warn("private_folder_mount_test: ignored: it needs to bind-mount a folder (root)");
}

Deno.test({
  name: "the private folder mounted again elsewhere in the tree is refused by its inode",
  ignore: !bindMountable,
  async fn() {
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "dfos-bind-" }));
    const root = join(base, "alice");
    const storage = await LocalStorage.open(root);
    const upload = await storage.beginUpload("/a.bin", { size: 4, mtimeMs: TEST_MTIME_MS });
    await upload.write(bytesOf("ab"));
    await upload.abort(true);
    const partial = partialFileName("/a.bin", 4, TEST_MTIME_MS);
    await Deno.mkdir(join(root, "mnt"));
    assert.ok(await bindMount(join(root, ".dfos"), join(root, "mnt")), "the bind mount");
    try {
      const before = await exactSnapshot(join(root, ".dfos"));
      const attempts = [
        () => storage.list("/mnt"),
        () => storage.stat("/mnt"),
        () => storage.stat("/mnt/partial"),
        () => storage.openRead(`/mnt/partial/${partial}`),
        () => putFile(storage, "/mnt/partial/new", "x"),
        () => storage.mkdir("/mnt/partial/made"),
        () => storage.remove(`/mnt/partial/${partial}`),
        () => storage.remove("/mnt", { recursive: true }),
        () => storage.rename(`/mnt/partial/${partial}`, "/stolen"),
      ];
      for (const attempt of attempts) {
        const error = await assertStatus(attempt, "PERMISSION_DENIED");
        assert.match(error.message, /private folder \.dfos/);
      }
      assert.deepEqual(await exactSnapshot(join(root, ".dfos")), before);
    } finally {
      await unmount(join(root, "mnt"));
      await Deno.remove(base, { recursive: true });
    }
  },
});
