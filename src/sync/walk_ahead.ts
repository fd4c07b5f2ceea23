/**
 * The local folder's walk of a sync, begun before the run, and the one file
 * that decides whether it can be: both light enough for the command to load
 * before it connects, without the rest of the sync (run_sync.ts).
 *
 * @module
 */

import { resolve } from "node:path";
import { takeEarlyWalk } from "./early_walk.ts";
import { BackgroundListing } from "./listing_in_worker.ts";
import { IGNORE_FILE } from "./own_files.ts";

/**
 * Begins walking the local folder `folder` (as given on the command line)
 * in a worker, for a run that starts later (`SyncOptions.walk`, run_sync.ts);
 * nothing for a folder with a `.dfosignore` of its own, or none at all.
 */
export function walkAhead(folder: string): BackgroundListing | undefined {
  const root = resolve(folder);
  // Begun as the program started, if it guessed this folder (and stopped if it guessed another).
  const early = takeEarlyWalk(root);
  try {
    if (readLocalIgnoreFile(root) === undefined) return new BackgroundListing(root, early);
  } catch {
    // Not a readable folder: the run says why.
  }
  early?.stop();
  return undefined;
}

/** The local `.dfosignore`, if the folder has one. */
export function readLocalIgnoreFile(root: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(`${root}/${IGNORE_FILE}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
