/**
 * Random folder trees on disk for end-to-end sync tests: build one from a
 * seed, change it in every way a person does (edits, new files, deletes,
 * renames of files and folders, a file replaced by a folder and the
 * reverse, empty files and folders), and read a tree back as path → content
 * hash, to compare two sides or to check that no version was lost.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import type { Mulberry32 } from "./random.ts";

/** A tree as path → SHA-256 of the content ("/" for a folder). */
export type TreeContents = Map<string, string>;

/** Writes `files` random files (and some folders) under `root`; names are reproducible from `random`. */
export async function writeRandomTree(random: Mulberry32, root: string, files: number) {
  const folders = [""];
  for (let index = 0; index < files; index++) {
    if (random.below(4) === 0) {
      const folder = join(random.pick(folders), `d${index}`);
      await Deno.mkdir(join(root, folder), { recursive: true });
      folders.push(folder);
    }
    const size = random.below(8) === 0 ? 0 : random.between(1, 6000);
    await Deno.writeFile(join(root, random.pick(folders), `f${index}.txt`), random.bytes(size));
  }
}

/** Reads `root` back as path → content hash; the DFOS temporary files count too, so they show. */
export async function readTree(root: string): Promise<TreeContents> {
  const tree: TreeContents = new Map();
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(join(root, dir))) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        tree.set(path, "/");
        await walk(path);
      } else {
        const bytes = await Deno.readFile(join(root, path));
        tree.set(path, createHash("sha256").update(bytes).digest("hex"));
      }
    }
  };
  await walk("");
  return tree;
}

/** Every file content hash in `tree`. */
export function versionsOf(tree: TreeContents): Set<string> {
  return new Set([...tree.values()].filter((hash) => hash !== "/"));
}

/** One random change to the tree at `root`; returns what it did, for failure messages. */
export async function changeRandomly(random: Mulberry32, root: string, tag: string) {
  const tree = await readTree(root);
  const files = [...tree].filter(([, hash]) => hash !== "/").map(([path]) => path);
  const folders = [...tree].filter(([, hash]) => hash === "/").map(([path]) => path);
  const somewhere = () => random.pick(["", ...folders]);
  const content = () => new TextEncoder().encode(`${tag} ${random.next()}\n`);
  const choice = random.below(9);
  if (choice === 0 && files.length > 0) {
    const path = random.pick(files);
    await Deno.writeFile(join(root, path), content());
    return `edit ${path}`;
  }
  if (choice === 1 && files.length > 0) {
    const path = random.pick(files);
    await Deno.remove(join(root, path));
    return `delete ${path}`;
  }
  if (choice === 2 && folders.length > 0) {
    const path = random.pick(folders);
    await Deno.remove(join(root, path), { recursive: true });
    return `delete folder ${path}`;
  }
  if (choice === 3 && files.length > 0) {
    const from = random.pick(files);
    const to = join(somewhere(), `moved-${tag}.txt`);
    await Deno.rename(join(root, from), join(root, to));
    return `move ${from} ${to}`;
  }
  if (choice === 4 && folders.length > 0) {
    const from = random.pick(folders);
    const to = join(somewhere(), `movedir-${tag}`);
    if (to.startsWith(`${from}/`)) return "nothing";
    await Deno.rename(join(root, from), join(root, to));
    return `move folder ${from} ${to}`;
  }
  if (choice === 5 && files.length > 0) {
    const path = random.pick(files);
    await Deno.remove(join(root, path));
    await Deno.mkdir(join(root, path));
    await Deno.writeFile(join(root, path, `inner-${tag}.txt`), content());
    return `file to folder ${path}`;
  }
  if (choice === 6 && folders.length > 0) {
    const path = random.pick(folders);
    await Deno.remove(join(root, path), { recursive: true });
    await Deno.writeFile(join(root, path), content());
    return `folder to file ${path}`;
  }
  if (choice === 7) {
    const path = join(somewhere(), `empty-dir-${tag}`);
    await Deno.mkdir(join(root, path), { recursive: true });
    return `empty folder ${path}`;
  }
  const path = join(somewhere(), `new-${tag}.txt`);
  await Deno.mkdir(dirname(join(root, path)), { recursive: true });
  await Deno.writeFile(join(root, path), choice === 8 ? content() : new Uint8Array());
  return `create ${path}`;
}
