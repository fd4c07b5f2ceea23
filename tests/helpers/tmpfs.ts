/**
 * Small tmpfs mounts for tests of a full disk: they need root (or a mount
 * namespace), so tests probe {@link canMountTmpfs} once and are ignored
 * where it is false.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";

/** Mounts a tmpfs of `size` (as mount(8) takes it, default 2m) on `mountPoint`; false where this process may not mount. */
export async function mountSmallTmpfs(mountPoint: string, size = "2m"): Promise<boolean> {
  try {
    const mounted = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mountPoint],
      stderr: "null",
    }).output();
    return mounted.success;
  } catch {
    return false; // No mount command at all.
  }
}

/** Unmounts `mountPoint` (lazily: a process still holding a file there cannot keep it). */
export async function unmount(mountPoint: string): Promise<void> {
  await new Deno.Command("umount", { args: ["-l", mountPoint], stderr: "null" }).output();
}

/** Whether a small tmpfs can be mounted here (root, or a mount namespace). */
export async function canMountTmpfs(): Promise<boolean> {
  const probe = await Deno.makeTempDir({ prefix: "dfos-mount-probe-" });
  const mounted = await mountSmallTmpfs(probe);
  if (mounted) await new Deno.Command("umount", { args: [probe] }).output();
  await Deno.remove(probe);
  return mounted;
}

/**
 * Runs `test` with a fresh temporary folder `dir` holding a small tmpfs
 * (of `size`) mounted at `dir/name`; unmounts it and removes `dir` after,
 * however `test` ends.
 */
export async function withSmallTmpfs(
  options: { prefix: string; name: string; size?: string },
  test: (dir: string, mountPoint: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: options.prefix });
  const mountPoint = join(dir, options.name);
  await Deno.mkdir(mountPoint);
  assert.ok(await mountSmallTmpfs(mountPoint, options.size), "mounting the small tmpfs");
  try {
    await test(dir, mountPoint);
  } finally {
    await unmount(mountPoint);
    await Deno.remove(dir, { recursive: true });
  }
}
