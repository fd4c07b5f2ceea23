/**
 * The conditions of conditional requests (PROTOCOL.md §5.9): the state a
 * path must still be in for the request to go ahead, checked under the
 * user's commit lock against the files and the journal's index.
 *
 * @module
 */

import type { WireCondition } from "../protocol/messages.ts";
import { STATUS } from "../protocol/status.ts";
import { type EntryInfo, StorageError } from "../storage/storage.ts";
import { toHex } from "../shared/hex.ts";
import type { PathState, TreeIndex } from "./tree_index.ts";

/** What a conditional request expects at a path. */
export type Expected =
  | { kind: "absent" }
  | { kind: "directory" }
  | { kind: "file"; sha256: string };

/** The condition a request carries (about `path`); BAD_REQUEST if its digest does not fit its state. */
export function expectedOf(path: string, wire: WireCondition): Expected {
  const hasDigest = wire.sha256.length === 32;
  if (hasDigest !== (wire.state === "file")) {
    throw new StorageError(
      STATUS.BAD_REQUEST,
      `${path}: a condition carries a SHA-256 for a file, and only then`,
    );
  }
  if (wire.state !== "file") return { kind: wire.state };
  return { kind: "file", sha256: toHex(wire.sha256) };
}

/**
 * Refuses with CONFLICT unless `path` (canonical) is as `expected`; `shown`
 * names it in the message; `entry`, what `path` holds if just looked up.
 * Call with the commit lock held.
 */
export async function checkExpected(
  index: TreeIndex,
  path: string,
  expected: Expected,
  shown = path,
  entry?: EntryInfo | null,
): Promise<void> {
  const state = await index.stateOf(path, expected.kind === "file", entry);
  if (satisfies(state, expected)) return;
  throw conflict(
    `${shown}: changed meanwhile: expected ${describe(expected)}, found ${describe(state)}`,
  );
}

/** A refusal of a condition. */
export function conflict(message: string): StorageError {
  return new StorageError(STATUS.CONFLICT, message);
}

function satisfies(state: PathState, expected: Expected): boolean {
  if (state.kind !== expected.kind) return false;
  return expected.kind !== "file" || state.sha256 === expected.sha256.toLowerCase();
}

function describe(state: PathState | Expected): string {
  if (state.kind === "absent") return "nothing";
  if (state.kind === "directory") return "a folder";
  if (state.kind === "other") return "a link or a special file";
  return `a file with SHA-256 ${state.sha256?.slice(0, 12)}…`;
}
