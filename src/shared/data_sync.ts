/**
 * `fdatasync` of a small file before it is acknowledged or takes its name,
 * inline or on the blocking threads as the device has shown itself
 * (inline_io.ts). Either way the data is on the device when it resolves.
 *
 * @module
 */

import { fdatasync, fdatasyncSync } from "node:fs";
import { promisify } from "node:util";
import { InlineIo } from "./inline_io.ts";

/** What {@link syncData} needs of a file: both forms of `fdatasync`. */
export type SyncableFile = Pick<Deno.FsFile, "syncData" | "syncDataSync">;

const syncs = new InlineIo();

/**
 * Syncs `file`'s data (and what is needed to read it back) to its device,
 * `device` being the file's `dev` (from a stat the caller makes anyway).
 *
 * @example
 * ```ts
 * using file = Deno.openSync("a.bin", { write: true, create: true });
 * file.writeSync(new Uint8Array(4096));
 * await syncData(file, file.statSync().dev);
 * ```
 */
export function syncData(file: SyncableFile, device: number): Promise<void> {
  return syncs.run(device, () => file.syncDataSync(), () => file.syncData());
}

const fdatasyncAsync = promisify(fdatasync);

/** {@link syncData} of a `node:fs` descriptor. */
export function syncDataFd(fd: number, device: number): Promise<void> {
  return syncs.run(device, () => fdatasyncSync(fd), () => fdatasyncAsync(fd));
}
