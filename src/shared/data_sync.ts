/**
 * `fdatasync` for many small files: on the runtime's blocking threads while
 * the filesystem makes it slow, inline while it makes it cheap.
 *
 * An asynchronous sync hands the call to another thread and back, which
 * costs the program's own thread tens of microseconds, on a busy machine a
 * hundred: more than the sync itself where the filesystem has nothing to
 * wait for (tmpfs, or a drive that acknowledges at once). Where a sync waits
 * for a disk (a millisecond or more), it must not stop the thread, and
 * overlapping syncs let the filesystem commit them together.
 *
 * So each device's syncs run asynchronously, and now and then one runs
 * inline, timed: a probe. {@link FAST_PROBES} fast probes in a row make its
 * syncs inline; the first inline sync slower than {@link FAST_INLINE_MS}
 * sends them back. A slow probe doubles the wait before the next one (from
 * {@link PROBE_EVERY} syncs up to {@link MAX_PROBE_EVERY}), so a slow disk
 * costs the thread a few waits at start and then one in thousands. Timing
 * the inline call measures the device, not the machine's load (an
 * asynchronous sync's time includes the wait for the thread to come back).
 * Either way the call returns only once the data is on the device: only
 * where the time goes changes, never the guarantee.
 *
 * @module
 */

/** An inline sync within this counts as fast. tmpfs takes about 0.005 ms here, a disk 0.5 or more. */
export const FAST_INLINE_MS = 0.25;
/** Fast probes in a row after which a device's syncs run inline. */
export const FAST_PROBES = 3;
/** Syncs between probes at first, and after a slow inline sync. */
export const PROBE_EVERY = 64;
/** The longest wait between probes, in syncs. */
export const MAX_PROBE_EVERY = 65_536;

interface DeviceSyncs {
  inline: boolean;
  /** Asynchronous syncs left before the next probe. */
  untilProbe: number;
  probeEvery: number;
  fastProbes: number;
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
    if (state === undefined) {
      state = { inline: false, untilProbe: 0, probeEvery: PROBE_EVERY, fastProbes: 0 };
      this.#devices.set(device, state);
    }
    if (!state.inline && state.untilProbe > 0) {
      state.untilProbe--;
      return await file.syncData();
    }
    const start = this.#now();
    file.syncDataSync();
    this.#timed(state, this.#now() - start <= FAST_INLINE_MS);
  }

  /** Counts an inline sync: a probe, or one of a device found fast. */
  #timed(state: DeviceSyncs, fast: boolean): void {
    if (state.inline) {
      if (fast) return;
      state.inline = false;
      state.probeEvery = PROBE_EVERY;
    } else if (fast) {
      state.fastProbes++;
      state.inline = state.fastProbes >= FAST_PROBES;
      if (state.inline) state.fastProbes = 0;
      return; // The next sync probes again (or is inline).
    } else {
      state.probeEvery = Math.min(state.probeEvery * 2, MAX_PROBE_EVERY);
    }
    state.fastProbes = 0;
    state.untilProbe = state.probeEvery;
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
