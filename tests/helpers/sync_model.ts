/**
 * An in-memory model of two synced folders, for testing the sync planner:
 * trees of files (whose "hash" is their content) and folders, random edits
 * of every kind, and sides for the executor whose operations fail on any
 * step whose condition does not hold.
 *
 * @module
 */

import type { ExecutorSides } from "../../src/sync/executor.ts";
import type { SideOperations } from "../../src/sync/sides.ts";
import {
  type BaseEntry,
  isInside,
  parentOf,
  sameContent,
  type SyncEntry,
} from "../../src/sync/sync_entry.ts";
import type { Mulberry32 } from "./random.ts";

/** A side's tree: entries by relative path. */
export type ModelTree = Map<string, SyncEntry>;

let clock = 1_000_000_000n;
let inodes = 1000;

/** A file entry whose hash is its content. */
export function modelFile(content: string, local: boolean): SyncEntry {
  clock += 1_000n;
  return {
    kind: "file",
    size: content.length,
    sha256: content,
    mtimeNs: clock,
    inode: local ? inodes++ : undefined,
  };
}

/** A folder entry. */
export function modelFolder(local: boolean): SyncEntry {
  return { kind: "directory", size: 0, mtimeNs: clock, inode: local ? inodes++ : undefined };
}

/** The remembered state after both sides agree on every path they share. */
export function baseOf(local: ModelTree, remote: ModelTree): Map<string, BaseEntry> {
  const base = new Map<string, BaseEntry>();
  for (const [path, mine] of local) {
    const theirs = remote.get(path);
    if (theirs && sameContent(mine, theirs)) base.set(path, baseEntry(mine, theirs));
  }
  return base;
}

function baseEntry(local: SyncEntry, remote: SyncEntry): BaseEntry {
  return {
    kind: local.kind,
    size: local.size,
    sha256: local.sha256,
    localMtimeNs: local.mtimeNs,
    localInode: local.inode,
    remoteMtimeNs: remote.mtimeNs,
  };
}

/** Path → content ("/" for folders), for comparing trees. */
export function contents(tree: ModelTree): Map<string, string> {
  return new Map([...tree].map(([path, entry]) => [path, entry.sha256 ?? "/"]));
}

/** A random tree of a few folders and files, the same on both sides. */
export function randomTrees(random: Mulberry32, files: number): [ModelTree, ModelTree] {
  const local: ModelTree = new Map();
  const remote: ModelTree = new Map();
  const folders = [""];
  for (let index = 0; index < files; index++) {
    if (random.below(4) === 0) {
      const dir = join(random.pick(folders), `d${index}`);
      folders.push(dir);
      local.set(dir, modelFolder(true));
      remote.set(dir, modelFolder(false));
    }
    const path = join(random.pick(folders), `f${index}.txt`);
    const content = random.below(10) === 0 ? "" : `v0-${index}`;
    local.set(path, modelFile(content, true));
    remote.set(path, modelFile(content, false));
  }
  return [local, remote];
}

function join(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** One random edit of `tree`; its new contents are unique strings, so versions can be traced. */
export function mutate(random: Mulberry32, tree: ModelTree, local: boolean, tag: string): string {
  const paths = [...tree.keys()];
  const files = paths.filter((path) => tree.get(path)!.kind === "file");
  const folders = ["", ...paths.filter((path) => tree.get(path)!.kind === "directory")];
  const fresh = (prefix: string) => join(random.pick(folders), `${prefix}-${tag}`);
  switch (random.below(10)) {
    case 0:
      if (files.length === 0) break;
      return edit(tree, random.pick(files), `edit-${tag}`, local);
    case 1:
      return create(tree, fresh("new"), modelFile(`new-${tag}`, local));
    case 2:
      if (files.length === 0) break;
      return remove(tree, random.pick(files));
    case 3:
      if (folders.length === 1) break;
      return remove(tree, random.pick(folders.slice(1)));
    case 4:
      if (files.length === 0) break;
      return move(tree, random.pick(files), fresh("moved"));
    case 5: {
      if (folders.length === 1) break;
      const folder = random.pick(folders.slice(1));
      const target = fresh("movedir");
      if (isInside(target, folder)) break;
      return move(tree, folder, target);
    }
    case 6:
      if (files.length === 0) break;
      return fileToFolder(tree, random.pick(files), tag, local);
    case 7:
      if (folders.length === 1) break;
      return folderToFile(tree, random.pick(folders.slice(1)), tag, local);
    case 8:
      return create(tree, fresh("empty-dir"), modelFolder(local));
    case 9:
      return create(tree, fresh("empty"), modelFile("", local));
  }
  return create(tree, fresh("fallback"), modelFile(`fallback-${tag}`, local));
}

function edit(tree: ModelTree, path: string, content: string, local: boolean): string {
  const inode = tree.get(path)!.inode;
  tree.set(path, { ...modelFile(content, local), inode });
  return `edit ${path}`;
}

function create(tree: ModelTree, path: string, entry: SyncEntry): string {
  tree.set(path, entry);
  return `create ${path}`;
}

function remove(tree: ModelTree, path: string): string {
  for (const inner of [...tree.keys()]) {
    if (inner === path || isInside(inner, path)) tree.delete(inner);
  }
  return `delete ${path}`;
}

function move(tree: ModelTree, from: string, to: string): string {
  for (const [inner, entry] of [...tree]) {
    if (inner !== from && !isInside(inner, from)) continue;
    tree.delete(inner);
    tree.set(to + inner.slice(from.length), entry);
  }
  return `move ${from} ${to}`;
}

function fileToFolder(tree: ModelTree, path: string, tag: string, local: boolean): string {
  tree.delete(path);
  tree.set(path, modelFolder(local));
  tree.set(`${path}/inner-${tag}`, modelFile(`inner-${tag}`, local));
  return `file to folder ${path}`;
}

function folderToFile(tree: ModelTree, path: string, tag: string, local: boolean): string {
  remove(tree, path);
  tree.set(path, modelFile(`was-folder-${tag}`, local));
  return `folder to file ${path}`;
}

/** A side of the model: the executor's operations on a {@link ModelTree}, conditions checked strictly. */
export class ModelSide implements SideOperations {
  constructor(
    readonly tree: ModelTree,
    readonly local: boolean,
    /** Says whether the next operation fails as if the path had changed meanwhile. */
    readonly failNext: () => boolean = () => false,
  ) {}

  #guard(what: string, path: string): void {
    if (this.failNext()) throw new Error(`${what} ${path}: changed meanwhile (simulated)`);
  }

  mkdir(path: string): Promise<SyncEntry> {
    this.#guard("mkdir", path);
    if (this.tree.has(path) && this.tree.get(path)!.kind !== "directory") {
      throw new Error(`mkdir ${path}: a file is in the way`);
    }
    ensureFolder(this.tree, path, this.local);
    return Promise.resolve(this.tree.get(path)!);
  }

  delete(path: string, expected: SyncEntry): Promise<void> {
    this.#guard("delete", path);
    this.#expect(path, expected);
    if ([...this.tree.keys()].some((inner) => isInside(inner, path))) {
      throw new Error(`delete ${path}: folder not empty`);
    }
    this.tree.delete(path);
    return Promise.resolve();
  }

  rename(from: string, to: string, expected: SyncEntry): Promise<SyncEntry> {
    this.#guard("rename", from);
    this.#expect(from, expected);
    if (this.tree.has(to)) throw new Error(`rename ${from} ${to}: target exists`);
    ensureFolder(this.tree, parentOf(to), this.local);
    move(this.tree, from, to);
    return Promise.resolve(this.tree.get(to)!);
  }

  /** Writes `source` at `path` if it is still `expected`. */
  write(path: string, source: SyncEntry, expected?: SyncEntry): SyncEntry {
    this.#guard("write", path);
    this.#expect(path, expected);
    ensureFolder(this.tree, parentOf(path), this.local);
    const written = { ...modelFile(source.sha256!, this.local) };
    this.tree.set(path, written);
    return written;
  }

  #expect(path: string, expected: SyncEntry | undefined): void {
    if (!sameContent(this.tree.get(path), expected)) throw new Error(`${path}: not as expected`);
  }
}

/** The executor's view of two model sides, remembering into `base`. */
export function modelSides(
  local: ModelSide,
  remote: ModelSide,
  base: Map<string, BaseEntry>,
): ExecutorSides {
  return {
    local,
    remote,
    copier: {
      push: (path, source, expected) => Promise.resolve(remote.write(path, source, expected)),
      pull: (path, source, expected) => Promise.resolve(local.write(path, source, expected)),
    },
    trees: { local: new Map(local.tree), remote: new Map(remote.tree) },
    remember(changes) {
      for (const { path, entry } of changes) {
        if (entry === undefined) base.delete(path);
        else base.set(path, entry);
      }
    },
  };
}

function ensureFolder(tree: ModelTree, path: string, local: boolean): void {
  if (path === "") return;
  ensureFolder(tree, parentOf(path), local);
  const entry = tree.get(path);
  if (entry === undefined) tree.set(path, modelFolder(local));
  else if (entry.kind !== "directory") throw new Error(`${path} is a file`);
}
