/**
 * The bytes a user's tree holds, for quotas: every regular file under the
 * root, the private `.dfos` folder included (but not the old versions of
 * replaced files waiting in `.dfos/retired` to be removed), counted once;
 * symlinks are not followed. The walk holds each folder open while it lists it and enters a
 * subfolder only if it is the one the open folder holds under that name, so
 * a folder swapped for a symlink meanwhile never lets it count (or list)
 * anything outside the root.
 *
 * @module
 */

import { toStorageError } from "./fs_errors.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";
import { RETIRED_FOLDER } from "./retired_files.ts";
import type { RootConfinement } from "./root_confinement.ts";
import { RESERVED_NAME } from "./virtual_path.ts";

/** What is not counted, by its names below the root. */
const NOT_COUNTED = `${RESERVED_NAME}/${RETIRED_FOLDER}`;

/**
 * Sums the sizes of the files under `confinement`'s root. A folder that
 * changes under the walk is skipped, not followed.
 *
 * @example
 * ```ts
 * const bytes = await treeUsage(RootConfinement.open("/srv/storage/alice"));
 * ```
 */
export async function treeUsage(confinement: RootConfinement): Promise<number> {
  try {
    using root = confinement.openRoot();
    return await folderUsage(root, "");
  } catch (error) {
    throw toStorageError(error, "/");
  }
}

/** Bytes of the files in `folder` (at `names` below the root) and below; holds one open folder per level. */
async function folderUsage(folder: PinnedDirectory, names: string): Promise<number> {
  let total = 0;
  const subfolders: string[] = [];
  for await (const entry of Deno.readDir(folder.path)) {
    const info = folder.lstat(entry.name);
    if (info === null) continue;
    if (info.isFile) total += info.size;
    else if (info.isDirectory) subfolders.push(entry.name);
  }
  for (const name of subfolders) {
    const below = names === "" ? name : `${names}/${name}`;
    if (below === NOT_COUNTED) continue;
    const { child } = folder.enter(name);
    if (child === null) continue;
    try {
      total += await folderUsage(child, below);
    } finally {
      child.close();
    }
  }
  return total;
}
