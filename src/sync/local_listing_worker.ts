/**
 * Worker entry: lists one local folder ({@link listLocal}, DFOS's own files
 * left out) off the main thread and posts the columns back, their buffers
 * moved rather than copied. A failure is posted as its class name and
 * message, for the main thread to raise as the walk there would have.
 *
 * @module
 */

import { listLocal } from "./local_listing.ts";
import { OWN_FILES_ONLY } from "./own_files.ts";

/** What the main thread sends: the folder to list, normalised. */
export interface ListingRequest {
  root: string;
}

/** The worker's view of its global scope (the main program's types describe a window). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ListingRequest>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (event) => {
  try {
    const listing = listLocal(event.data.root, OWN_FILES_ONLY);
    const buffers = [listing.kinds, listing.sizes, listing.mtimesMs, listing.inodes]
      .map((column) => column.buffer as ArrayBuffer);
    scope.postMessage({ listing }, buffers);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    scope.postMessage({ error: { name, message } });
  }
  scope.close();
};
