/**
 * Tools for confinement race tests: a process that swaps a folder for a
 * symlink to someone else's folder (tests/helpers/swap_folder.ts), an exact
 * snapshot of the other user's tree, and a count of this process's open
 * descriptors.
 *
 * @module
 */

import { join } from "node:path";
import { sha256File } from "./files.ts";
import { collectText, waitFor } from "./processes.ts";

const SWAPPER = new URL("./swap_folder.ts", import.meta.url).pathname;

/** How the folder is swapped; see swap_folder.ts. */
export type SwapMode = "folder" | "link";

/** A running swapper process. */
export interface Swapper {
  /** Whether it is still swapping. */
  running(): boolean;
  /** Resolves to the number of rounds once it has put the folder back and exited 0. */
  finished: Promise<number>;
}

/**
 * Starts swapping `<dir>/<name>` with a link to `target` for `ms` milliseconds;
 * resolves once the swapping has begun.
 */
export async function startSwapper(
  dir: string,
  name: string,
  target: string,
  ms: number,
  mode: SwapMode,
): Promise<Swapper> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      SWAPPER,
      dir,
      name,
      target,
      `${ms}`,
      mode,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collectText(child.stdout);
  const err = collectText(child.stderr);
  let exited = false;
  const finished = child.status.then(async (status) => {
    exited = true;
    await Promise.all([out.done, err.done]);
    if (!status.success) throw new Error(`the swapper failed: ${err.text()}`);
    return Number(out.text().match(/swapped (\d+)/)?.[1] ?? 0);
  });
  await waitFor(() => exited || out.text().includes("swapping"), 20_000, "the swapper to start");
  if (exited) await finished;
  return { running: () => !exited, finished };
}

/**
 * Every entry under `root` with its kind, size, content hash and mtime in
 * milliseconds: any write, creation or deletion below it changes the result.
 */
export async function exactSnapshot(root: string): Promise<string[]> {
  const lines: string[] = [];
  const pending = [""];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    const info = await Deno.lstat(join(root, relative));
    const mtime = info.mtime?.getTime() ?? 0;
    if (info.isDirectory) {
      lines.push(`${relative}/ ${mtime}`);
      for await (const entry of Deno.readDir(join(root, relative))) {
        pending.push(relative === "" ? entry.name : `${relative}/${entry.name}`);
      }
    } else if (info.isFile) {
      lines.push(`${relative} ${info.size} ${await sha256File(join(root, relative))} ${mtime}`);
    } else {
      lines.push(`${relative} other ${mtime}`);
    }
  }
  return lines.sort();
}

/**
 * Counts this process's open descriptors on files and folders under `root`
 * (other test modules may run in this process too), through a link of its
 * own to /proc/self/fd (the runtime refuses /proc paths as text).
 */
export function openDescriptorCount(root: string): number {
  const link = Deno.makeTempDirSync({ prefix: "dfos-count-fd-" });
  try {
    Deno.symlinkSync("/proc/self/fd", join(link, "fd"));
    let count = 0;
    for (const entry of Deno.readDirSync(join(link, "fd"))) {
      try {
        const target = Deno.readLinkSync(join(link, "fd", entry.name));
        if (target === root || target.startsWith(root + "/")) count++;
      } catch { /* Closed meanwhile. */ }
    }
    return count;
  } finally {
    Deno.removeSync(link, { recursive: true });
  }
}
