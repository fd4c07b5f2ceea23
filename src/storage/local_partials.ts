/**
 * The partial uploads of {@link LocalStorage}, as the user sees them: listed
 * with what they are for, discarded on request, swept when stale.
 *
 * The partial folder holds, per upload, the partial file (named by the hash
 * of path, size and mtime) and its sidecar record (`<hash>.json`, see
 * partial_record.ts), and briefly `<hash>.json.tmp` or a `whole-…` file of a
 * small upload. Files are grouped by *id*, the name up to its first dot, and
 * a group is listed, counted, discarded and swept as one: no record outlives
 * its partial for long, and no partial is hidden for want of one. Whatever
 * else is found there is treated the same way, never trusted: a record that
 * does not parse, is too large, or names another identity than its id hashes
 * leaves the path unknown; only regular files count; directories, links and
 * other things are left alone.
 *
 * @module
 */

import { STATUS } from "../protocol/status.ts";
import { isNotFound, toStorageError } from "./fs_errors.ts";
import { partialFileName } from "./local_upload.ts";
import type { PinnedDirectory } from "./pinned_directory.ts";
import { readPrivateFile } from "./private_files.ts";
import {
  decodePartialRecord,
  MAX_PARTIAL_RECORD_BYTES,
  PARTIAL_RECORD_SUFFIX,
  type PartialRecord,
} from "./partial_record.ts";
import {
  DEFAULT_PARTIALS_LISTED,
  type DiscardResult,
  type PartialInfo,
  type PartialListing,
  type PartialListOptions,
  type PartialSelection,
  StorageError,
} from "./storage.ts";
import { resolveVirtualPath } from "./virtual_path.ts";

/** How the partial folder is named in messages (clients cannot name it). */
const FOLDER_NAME = "/.dfos/partial";

/** The user's partial folder, held open, and which of its partials an upload is writing. */
export interface PartialFolder {
  pinned: PinnedDirectory;
  inProgress(id: string): boolean;
}

/** The regular files in the partial folder that share one id. */
interface PartialGroup {
  id: string;
  /** File names, the partial file (named `id`) first if present. */
  names: string[];
  /** Size of the partial file; 0 if there is none. */
  received: number;
  /** Bytes of all the group's files. */
  bytes: number;
  /** Newest modification time among them, ms. */
  writtenMs: number;
}

/** Lists the partials in `directory` (null: no upload ever made the folder). */
export async function listPartials(
  directory: PartialFolder | null,
  options: PartialListOptions = {},
): Promise<PartialListing> {
  const under = resolveVirtualPath("/", options.under ?? "/");
  const limit = options.limit ?? DEFAULT_PARTIALS_LISTED;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`a partial listing limit of ${limit}`);
  }
  const groups = directory === null ? [] : await scanGroups(directory);
  const listing: PartialListing = {
    partials: [],
    more: false,
    count: groups.length,
    bytes: 0,
    bytesInProgress: 0,
  };
  for (const group of groups) {
    listing.bytes += group.bytes;
    if (directory!.inProgress(group.id)) listing.bytesInProgress += group.bytes;
  }
  for (const group of groups.sort((a, b) => b.writtenMs - a.writtenMs || compare(a.id, b.id))) {
    // Everything matches "/": no record needs reading to know that more are left.
    if (listing.partials.length === limit && under === "/") listing.more = true;
    if (listing.more) break;
    const info = describeGroup(directory!, group);
    if (!isAtOrBelow(info.path, under)) continue;
    if (listing.partials.length === limit) listing.more = true;
    else listing.partials.push(info);
  }
  return listing;
}

/**
 * Removes the partials `selection` names from `directory`, each partial's
 * files together, skipping those an upload is writing.
 *
 * @throws {StorageError} NOT_FOUND when a path or id names no partial,
 * EXISTS when every partial it names is being written.
 */
export async function discardPartials(
  directory: PartialFolder | null,
  selection: PartialSelection,
): Promise<DiscardResult> {
  const wanted = selector(selection);
  const groups = directory === null ? [] : await scanGroups(directory);
  const result: DiscardResult = { count: 0, bytes: 0, busy: 0 };
  for (const group of groups) {
    if (!wanted(group, () => describeGroup(directory!, group).path)) continue;
    // Checked and removed without an await in between: no upload can start meanwhile.
    if (directory!.inProgress(group.id)) {
      result.busy++;
      continue;
    }
    removeGroup(directory!, group);
    result.count++;
    result.bytes += group.bytes;
  }
  if (selection.kind !== "all" && result.count === 0) throw nothingDiscarded(selection, result);
  return result;
}

/**
 * Removes from `directory` the partials last written before `maxAgeMs` ago
 * (with their records and leftovers); resolves to how many.
 */
export async function sweepPartials(
  directory: PartialFolder | null,
  maxAgeMs: number,
): Promise<number> {
  if (directory === null) return 0;
  const cutoff = Date.now() - maxAgeMs;
  let removed = 0;
  for (const group of await scanGroups(directory)) {
    if (group.writtenMs >= cutoff || directory.inProgress(group.id)) continue;
    removeGroup(directory, group);
    removed++;
  }
  return removed;
}

/** The regular files of `directory`, grouped by id. */
async function scanGroups(directory: PartialFolder): Promise<PartialGroup[]> {
  const groups = new Map<string, PartialGroup>();
  try {
    for await (const entry of Deno.readDir(directory.pinned.path)) {
      if (!entry.isFile) continue;
      const info = directory.pinned.lstat(entry.name);
      if (!info?.isFile) continue;
      const id = idOf(entry.name);
      const group = groups.get(id) ?? { id, names: [], received: 0, bytes: 0, writtenMs: 0 };
      groups.set(id, group);
      if (entry.name === id) {
        group.names.unshift(entry.name);
        group.received = info.size;
      } else group.names.push(entry.name);
      group.bytes += info.size;
      group.writtenMs = Math.max(group.writtenMs, info.mtime?.getTime() ?? 0);
    }
  } catch (error) {
    if (isNotFound(error)) return [];
    throw toStorageError(error, FOLDER_NAME);
  }
  return [...groups.values()];
}

/** A file's id: its name up to the first dot (not counting a leading one). */
function idOf(name: string): string {
  const dot = name.indexOf(".", 1);
  return dot < 0 ? name : name.slice(0, dot);
}

function describeGroup(directory: PartialFolder, group: PartialGroup): PartialInfo {
  const record = readRecord(directory, group);
  return {
    id: group.id,
    path: record?.path ?? null,
    size: record?.size ?? null,
    mtimeMs: record?.mtimeMs ?? null,
    received: group.received,
    writtenMs: group.writtenMs,
    active: directory.inProgress(group.id),
  };
}

/**
 * The group's record, or null if it has none that is readable, well formed,
 * within {@link MAX_PARTIAL_RECORD_BYTES} and for the identity its id hashes.
 */
function readRecord(directory: PartialFolder, group: PartialGroup): PartialRecord | null {
  const name = group.id + PARTIAL_RECORD_SUFFIX;
  if (!group.names.includes(name)) return null;
  const bytes = readPrivateFile(directory.pinned, name, MAX_PARTIAL_RECORD_BYTES);
  const record = bytes && decodePartialRecord(bytes);
  if (!record) return null;
  return partialFileName(record.path, record.size, record.mtimeMs) === group.id ? record : null;
}

/** Removes a group's files, the partial file first; files already gone are fine. */
function removeGroup(directory: PartialFolder, group: PartialGroup): void {
  for (const name of group.names) {
    try {
      Deno.removeSync(directory.pinned.entry(name));
    } catch (error) {
      if (!isNotFound(error)) throw toStorageError(error, FOLDER_NAME);
    }
  }
}

/** Whether a group belongs to `selection`; `pathOf` reads its record only when needed. */
function selector(
  selection: PartialSelection,
): (group: PartialGroup, pathOf: () => string | null) => boolean {
  switch (selection.kind) {
    case "id":
      return (group) => group.id === selection.id;
    case "path": {
      const path = resolveVirtualPath("/", selection.path);
      return (_, pathOf) => pathOf() === path;
    }
    case "all": {
      const under = resolveVirtualPath("/", selection.under);
      return (_, pathOf) => under === "/" || isAtOrBelow(pathOf(), under);
    }
  }
}

/** The refusal when a path or id selected nothing that could be discarded. */
function nothingDiscarded(
  selection: Exclude<PartialSelection, { kind: "all" }>,
  result: DiscardResult,
): StorageError {
  const busy = result.busy > 0;
  if (selection.kind === "path") {
    const path = resolveVirtualPath("/", selection.path);
    return busy
      ? new StorageError(STATUS.EXISTS, `${path}: its upload is in progress; stop it first`)
      : new StorageError(STATUS.NOT_FOUND, `${path}: no unfinished upload of this file`);
  }
  const id = JSON.stringify(selection.id.slice(0, 80));
  return busy
    ? new StorageError(STATUS.EXISTS, `the unfinished upload ${id} is being written; stop it first`)
    : new StorageError(STATUS.NOT_FOUND, `no unfinished upload has the id ${id}`);
}

/** Whether `path` is `under` or lies below it; an unknown path only counts under "/". */
function isAtOrBelow(path: string | null, under: string): boolean {
  if (under === "/") return true;
  return path !== null && (path === under || path.startsWith(under + "/"));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
