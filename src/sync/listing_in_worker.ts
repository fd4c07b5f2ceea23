/**
 * Runs {@link listLocal} for a folder without rules of its own in a worker,
 * so that the walk's system calls and garbage keep the main thread free for
 * the connection and the remembered state. Where no worker can be started (a
 * binary built without the worker's module), the walk runs here instead.
 *
 * @module
 */

import { listLocal, type LocalListing } from "./local_listing.ts";
import type { ListingRequest } from "./local_listing_worker.ts";
import { OWN_FILES_ONLY } from "./own_files.ts";

/** A walk started in a worker: its result, or a way to drop it unused. */
export interface BackgroundListing {
  /** The listing, or the walk's failure as the walk here would raise it. */
  result: Promise<LocalListing>;
  /** Stops the walk; `result` is then never used. */
  cancel(): void;
}

/** Starts listing `root` (normalised) in a worker, DFOS's own files left out. */
export function listInWorker(root: string): BackgroundListing {
  let worker: Worker | undefined;
  const result = new Promise<LocalListing>((resolve, reject) => {
    try {
      worker = new Worker(new URL("./local_listing_worker.ts", import.meta.url), {
        type: "module",
      });
    } catch {
      return resolve(listLocal(root, OWN_FILES_ONLY));
    }
    worker.onmessage = (event) => {
      worker!.terminate();
      const { listing, error } = event.data;
      if (error === undefined) return resolve(listing);
      reject(errorOf(error));
    };
    worker.onerror = (event) => {
      // The worker could not run at all (its module missing): walk here.
      event.preventDefault();
      worker!.terminate();
      try {
        resolve(listLocal(root, OWN_FILES_ONLY));
      } catch (error) {
        reject(error);
      }
    };
    worker.postMessage({ root } satisfies ListingRequest);
  });
  result.catch(() => {}); // Awaited by the caller, or cancelled.
  return { result, cancel: () => worker?.terminate() };
}

/** The worker's failure as the error class the walk here would have thrown. */
function errorOf(error: { name: string; message: string }): Error {
  const errors = Deno.errors as unknown as Record<string, new (message: string) => Error>;
  const Class = Object.hasOwn(errors, error.name) ? errors[error.name] : Error;
  return new Class(error.message);
}
