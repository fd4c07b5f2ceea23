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

/** The worker's module (a compiled binary holds it only if built with `--include` for it). */
const WORKER_MODULE = new URL("./local_listing_worker.ts", import.meta.url);

/** A walk started in a worker: its result, or a way to drop it unused. */
export class BackgroundListing {
  /** The listing, or the walk's failure as the walk here would raise it. */
  readonly result: Promise<LocalListing>;
  #worker: Worker | undefined;

  /** Starts listing `root` (normalised) in a worker, DFOS's own files left out. */
  constructor(root: string) {
    this.result = new Promise<LocalListing>((resolve, reject) => {
      try {
        // A binary built without the module would print the worker's failure to load it.
        Deno.statSync(WORKER_MODULE);
        this.#worker = new Worker(WORKER_MODULE, { type: "module" });
      } catch {
        return resolve(listLocal(root, OWN_FILES_ONLY));
      }
      const worker = this.#worker;
      worker.onmessage = (event) => {
        worker.terminate();
        const { listing, error } = event.data;
        if (error === undefined) return resolve(listing);
        reject(errorOf(error));
      };
      worker.onerror = (event) => {
        // The worker could not run at all (its module missing): walk here.
        event.preventDefault();
        worker.terminate();
        try {
          resolve(listLocal(root, OWN_FILES_ONLY));
        } catch (error) {
          reject(error);
        }
      };
      worker.postMessage({ root } satisfies ListingRequest);
    });
    this.result.catch(() => {}); // Awaited by the caller, or cancelled.
  }

  /** Stops the walk; `result` is then never used. */
  cancel(): void {
    this.#worker?.terminate();
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
