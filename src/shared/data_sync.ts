/**
 * `fdatasync` for many small files: on the runtime's blocking threads while
 * the filesystem makes it slow, inline while it makes it cheap.
 *
 * An asynchronous sync hands the call to another thread and back, which
 * costs the program's own thread tens of microseconds, on a busy machine a
 * hundred: more than the sync itself where the filesystem has nothing to
 * wait for (tmpfs, or a drive that acknowledges at once). Where a sync waits
 * for a disk (a millisecond or more), it must not stop the thread, and
 * overlapping syncs let the filesystem commit them together. So each device
 * starts asynchronous; after {@link FAST_RUN} asynchronous syncs in a row
 * that each completed within {@link FAST_ASYNC_MS}, its syncs run inline, and
 * the first inline sync that takes longer than {@link SLOW_INLINE_MS} sends it
 * back. Either way the call returns only once the data is on the device: only
 * where the time goes changes, never the guarantee.
 *
 * @module
 */

/**
 * An asynchronous sync that completes within this, from call to result,
 * counts as fast. The time includes waiting behind other syncs in flight;
 * on this project's machines tmpfs gives 0.005 ms alone and about 0.2 ms
 * with 64 in flight, a disk 0.5 to several ms.
 */
export const FAST_ASYNC_MS = 0.5;
/** Fast asynchronous syncs in a row after which a device's syncs run inline. */
export const FAST_RUN = 64;
/**
 * An inline sync taking longer sends the device's syncs back to the
 * blocking threads: at most this long, once, does the thread wait on a
 * device that has become slow.
 */
export const SLOW_INLINE_MS = 0.25;

interface DeviceSyncs {
  inline: boolean;
  fastInARow: number;
}

/** What {@link DataSyncs} needs of a file: both forms of `fdatasync`. */
export type SyncableFile = Pick<Deno.FsFile, "syncData" | "syncDataSync">;

/**
 * The choice per device, with the clock it times syncs by (milliseconds;
 * `performance.now` unless a test gives one).
 */
export class DataSyncs {
  readonly #devices = new Map<number, DeviceSyncs>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Syncs `file`'s data to `device` (the file's `dev`, from a stat the caller makes anyway). */
  async sync(file: SyncableFile, device: number): Promise<void> {
    let state = this.#devices.get(device);
    if (state === undefined) this.#devices.set(device, state = { inline: false, fastInARow: 0 });
    const start = this.#now();
    if (state.inline) {
      file.syncDataSync();
      if (this.#now() - start > SLOW_INLINE_MS) state.inline = false;
      return;
    }
    await file.syncData();
    const fast = this.#now() - start <= FAST_ASYNC_MS;
    state.fastInARow = fast ? state.fastInARow + 1 : 0;
    if (state.fastInARow >= FAST_RUN) {
      state.inline = true;
      state.fastInARow = 0;
    }
  }

  /** Whether `device`'s syncs run inline now. */
  inline(device: number): boolean {
    return this.#devices.get(device)?.inline ?? false;
  }
}

const processSyncs = new DataSyncs();

/**
 * Syncs `file`'s data (and what is needed to read it back) to its device,
 * `device` being the file's `dev`; the process's one {@link DataSyncs}.
 *
 * @example
 * ```ts
 * using file = Deno.openSync("a.bin", { write: true, create: true });
 * file.writeSync(new Uint8Array(4096));
 * await syncData(file, file.statSync().dev);
 * ```
 */
export function syncData(file: SyncableFile, device: number): Promise<void> {
  return processSyncs.sync(file, device);
}
