/**
 * What the local backend keeps of unfinished uploads, seen from its disk:
 * for tests that watch an upload's bytes arrive on the server.
 *
 * @module
 */

import { join } from "node:path";

/** Partial files are named by a SHA-256; their records and leftovers are not. */
const PARTIAL_FILE_NAME = /^[0-9a-f]{64}$/;

/**
 * Sizes of the partial files in the user folder `root` (records left out),
 * in no particular order; none if there is no partial folder.
 */
export async function partialFileSizes(root: string): Promise<number[]> {
  const directory = join(root, ".dfos", "partial");
  const sizes: number[] = [];
  try {
    for await (const entry of Deno.readDir(directory)) {
      if (!PARTIAL_FILE_NAME.test(entry.name)) continue;
      sizes.push(await Deno.stat(join(directory, entry.name)).then((info) => info.size, () => 0));
    }
  } catch {
    // No partial folder yet.
  }
  return sizes;
}
