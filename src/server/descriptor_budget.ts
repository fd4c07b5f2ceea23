/**
 * How many connections the server may hold at once without running out of
 * file descriptors: what its open-file limit leaves free at startup, less a
 * reserve for the files that sessions, logs and the users file open.
 *
 * The runtime grants /proc/self/limits only to programs with every
 * permission, so the free descriptors are counted instead: the server opens
 * one folder again and again until the limit says no (or it has as many as it
 * could ever use), then closes them all.
 *
 * @module
 */

import { MAX_CACHED_FOLDERS } from "../storage/folder_cache.ts";
import { WRITES_AT_ONCE } from "./write_slots.ts";

/**
 * Descriptors kept for everything but sessions' files: logs, users file,
 * listener, runtime, and the folders storage keeps open between requests.
 */
export const BASE_RESERVE = 32 + MAX_CACHED_FOLDERS;
/**
 * Files one logged-in session may have open at once: its downloads, an
 * upload, a listing, and the whole files it writes at once (write_slots.ts).
 */
export const FILES_PER_SESSION = 12 + WRITES_AT_ONCE;
/** Connections allowed beyond the stages' own caps, so those refused there still hear why. */
export const REFUSAL_ROOM = 64;

/** What the server's connection bound was derived from. */
export interface DescriptorBudget {
  /** Connections held at once; the newest beyond it is closed at once. */
  maxConnections: number;
  /** Descriptors found free at startup (at most as many as were looked for). */
  free: number;
  /** Descriptors kept for files and logs. */
  reserve: number;
  /** True when the open-file limit, not the stage caps, sets `maxConnections`. */
  limitedByDescriptors: boolean;
}

/** The stage caps the bound must make room for. */
export interface StageCaps {
  maxClients: number;
  maxQueue: number;
  maxUnauthenticated: number;
}

/**
 * Derives the connection bound. `probeDir` is a folder that may be opened
 * (the storage folder); `countFree` is for tests.
 */
export function descriptorBudget(
  caps: StageCaps,
  probeDir: string,
  countFree: (upTo: number) => number = (upTo) => countFreeDescriptors(probeDir, upTo),
): DescriptorBudget {
  const wanted = caps.maxClients + caps.maxQueue + caps.maxUnauthenticated + REFUSAL_ROOM;
  const fullReserve = BASE_RESERVE + caps.maxClients * FILES_PER_SESSION;
  const free = countFree(wanted + fullReserve);
  // With a very low limit, connections and files share what there is.
  const reserve = free >= wanted + fullReserve
    ? fullReserve
    : Math.min(fullReserve, Math.floor(free / 2));
  const available = Math.max(1, free - reserve);
  return {
    maxConnections: Math.min(wanted, available),
    free,
    reserve,
    limitedByDescriptors: available < wanted,
  };
}

/** Opens `dir` until the open-file limit refuses or `upTo` are open; closes them; the count. */
export function countFreeDescriptors(dir: string, upTo: number): number {
  const opened: Deno.FsFile[] = [];
  try {
    while (opened.length < upTo) opened.push(Deno.openSync(dir, { read: true }));
  } catch (error) {
    if (!isOutOfDescriptors(error)) throw error;
  } finally {
    for (const file of opened) file.close();
  }
  return opened.length;
}

/** Whether `error` says the process (EMFILE) or the system (ENFILE) has no descriptor left. */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}
