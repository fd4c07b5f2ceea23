/**
 * Calls that may block on a device, for many small files: on the runtime's
 * blocking threads while the device makes them slow, inline while it makes
 * them cheap. The server and client use it for `fdatasync` of small files
 * ({@link syncData}) and for reading a small file whole.
 *
 * An asynchronous call hands the work to another thread and back, which
 * costs the program's own thread tens of microseconds, on a busy machine a
 * hundred: more than the call itself where the device has nothing to wait
 * for (tmpfs, the page cache, a drive that acknowledges at once). Where a
 * call waits for a disk (a millisecond or more), it must not stop the
 * thread, and overlapping calls let the device serve them together.
 *
 * So each device's calls run asynchronously, and now and then one runs
 * inline, timed: a probe. {@link FAST_PROBES} fast probes in a row make its
 * calls inline; the first inline call slower than {@link FAST_INLINE_MS}
 * sends them back. A slow probe doubles the wait before the next one (from
 * {@link PROBE_EVERY} calls up to {@link MAX_PROBE_EVERY}), so a slow disk
 * costs the thread a few waits at start and then one in thousands. Timing
 * the inline call measures the device, not the machine's load (an
 * asynchronous call's time includes the wait for the thread to come back).
 * Either way the result is the same: only where the time goes changes.
 * An inline call on a device that hangs outright (a network filesystem whose
 * server went away) holds the thread until it returns, as the storage's
 * metadata calls, synchronous by design (local_storage.ts), already would.
 *
 * @module
 */

/** An inline call within this counts as fast. A tmpfs sync takes about 0.005 ms here, a disk's 0.5 or more. */
export const FAST_INLINE_MS = 0.25;
/** Fast probes in a row after which a device's calls run inline. */
export const FAST_PROBES = 3;
/** Calls between probes at first, and after a slow inline call. */
export const PROBE_EVERY = 64;
/** The longest wait between probes, in calls. */
export const MAX_PROBE_EVERY = 65_536;

interface DeviceCalls {
  inline: boolean;
  /** Asynchronous calls left before the next probe. */
  untilProbe: number;
  probeEvery: number;
  fastProbes: number;
}

/**
 * The choice per device for one kind of call, with the clock it times calls
 * by (milliseconds; `performance.now` unless a test gives one).
 *
 * @example
 * ```ts
 * const reads = new InlineIo();
 * const count = await reads.run(info.dev, () => readSync(fd, buffer), () => readAsync(fd, buffer));
 * ```
 */
export class InlineIo {
  readonly #devices = new Map<number, DeviceCalls>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Runs the call on `device` (a file's `dev`): `inline` or `deferred`, as the device has shown itself. */
  async run<T>(device: number, inline: () => T, deferred: () => Promise<T>): Promise<T> {
    let state = this.#devices.get(device);
    if (state === undefined) {
      state = { inline: false, untilProbe: 0, probeEvery: PROBE_EVERY, fastProbes: 0 };
      this.#devices.set(device, state);
    }
    if (!state.inline && state.untilProbe > 0) {
      state.untilProbe--;
      return await deferred();
    }
    const start = this.#now();
    try {
      return inline();
    } finally {
      this.#timed(state, this.#now() - start <= FAST_INLINE_MS);
    }
  }

  /** Counts an inline call: a probe, or one of a device found fast. */
  #timed(state: DeviceCalls, fast: boolean): void {
    if (state.inline) {
      if (fast) return;
      state.inline = false;
      state.probeEvery = PROBE_EVERY;
    } else if (fast) {
      state.fastProbes++;
      state.inline = state.fastProbes >= FAST_PROBES;
      if (state.inline) state.fastProbes = 0;
      return; // The next call probes again (or is inline).
    } else {
      state.probeEvery = Math.min(state.probeEvery * 2, MAX_PROBE_EVERY);
    }
    state.fastProbes = 0;
    state.untilProbe = state.probeEvery;
  }

  /** Whether `device`'s calls run inline now. */
  inline(device: number): boolean {
    return this.#devices.get(device)?.inline ?? false;
  }
}
