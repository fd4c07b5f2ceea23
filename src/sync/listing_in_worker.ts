/**
 * Runs {@link listLocal} for a folder without rules of its own in a worker,
 * so that the walk's system calls and garbage keep the main thread free for
 * the connection and the remembered state. Where no worker can be started (a
 * binary built without the worker's module), the walk runs here instead.
 *
 * @module
 */

import { listLocal, type LocalListing } from "./local_listing.ts";
import { OWN_FILES_ONLY } from "./own_files.ts";
import { type StartedWalk, startListingWorker } from "./early_walk.ts";

/** A walk started in a worker: its result, or a way to drop it unused. */
export class BackgroundListing {
  /** The listing, or the walk's failure as the walk here would raise it. */
  readonly result: Promise<LocalListing>;
  #started: StartedWalk | undefined;

  /**
   * Lists `root` (normalised) in a worker, DFOS's own files left out: the
   * walk `started` of it, or one started now.
   */
  constructor(root: string, started = startListingWorker(root)) {
    this.#started = started;
    const walkHere = () => listLocal(root, OWN_FILES_ONLY);
    this.result = started === undefined
      ? new Promise((resolve) => resolve(walkHere()))
      : started.reply.then((reply) => {
        if ("listing" in reply) return reply.listing;
        if ("error" in reply) throw errorOf(reply.error);
        return walkHere(); // The worker could not run at all (its module missing).
      });
    this.result.catch(() => {}); // Awaited by the caller, or cancelled.
  }

  /** Stops the walk; `result` is then never used. */
  cancel(): void {
    this.#started?.stop();
  }
}

/** Starts listing `root` (normalised) in a worker, DFOS's own files left out. */
export function listInWorker(root: string): BackgroundListing {
  return new BackgroundListing(root);
}

/** The worker's failure as the error class the walk here would have thrown. */
function errorOf(error: { name: string; message: string }): Error {
  const errors = Deno.errors as unknown as Record<string, new (message: string) => Error>;
  const Class = Object.hasOwn(errors, error.name) ? errors[error.name] : Error;
  return new Class(error.message);
}
