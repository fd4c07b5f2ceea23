/**
 * Keeps the memory of TLS traffic bounded. node:tls hands every decrypted
 * chunk, and every encrypted one, over in a new buffer. V8 starts
 * collecting dropped buffers on its own once about 64 MB of them have piled
 * up, but concurrently, and on a loaded machine that lags behind a fast
 * transfer: a server's peak RSS over a 1 GiB upload and download reached
 * 270 MB under the parallel test suite (about 190 MB with this). Buffers that
 * live a little longer (those of a request of many small files, held while
 * its files are stored) outlive V8's young collections, and `malloc` holds
 * on to what they leave behind: a sync's first copy of 20,000 files of 4 KiB
 * took the server to 180–190 MB with a 64 MB limit alone, 125–130 MB with
 * early collections.
 *
 * So the TLS streams report the bytes they pass; every
 * {@link CHECK_EVERY_BYTES} the buffer memory is looked at (a few
 * microseconds). Once it has grown by {@link EARLY_GROWTH_BYTES} over what
 * was live, a collection runs, unless the last one forced is so recent
 * that it would have taken more than {@link EARLY_SHARE} of the time since it
 * began (a full collection of a server's heap takes 20–35 ms here: early
 * collections slow a fast stream by that share at most). Past {@link BUFFER_GROWTH_LIMIT_BYTES} (V8's own threshold) a
 * collection runs at once, whatever it costs. Where the runtime offers no
 * way to ask for a collection, nothing happens.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

/** TLS traffic between two looks at the buffer memory. */
export const CHECK_EVERY_BYTES = 4 * 1024 * 1024;
/** Growth of buffer memory past which a collection runs if the time budget allows. */
export const EARLY_GROWTH_BYTES = 8 * 1024 * 1024;
/** The largest share of the time early collections may take. */
export const EARLY_SHARE = 0.05;
/**
 * Growth of buffer memory (V8's "external") over the lowest level seen
 * since the last forced collection, past which the next is forced. The
 * lowest level is what was live after a collection, so buffers in use (many
 * connections' read-ahead) never make collections run back to back.
 */
export const BUFFER_GROWTH_LIMIT_BYTES = 64 * 1024 * 1024;

/** What a {@link BufferReclaimer} looks at and does. */
export interface ReclaimerRuntime {
  /** Bytes of buffer memory now. */
  external(): number;
  /** A full collection; null where the runtime offers none. */
  collector(): (() => void) | null;
  /** Milliseconds, monotonic. */
  now(): number;
}

/** Counts TLS bytes and collects dropped buffers as the module documentation says. */
export class BufferReclaimer {
  readonly #runtime: ReclaimerRuntime;
  #collect: (() => void) | null | undefined;
  #passed = 0;
  #floor = Infinity;
  /** Before this time, only growth past the hard limit collects. */
  #earlyAfter = -Infinity;

  constructor(runtime: ReclaimerRuntime) {
    this.#runtime = runtime;
  }

  /** Counts `bytes` that went through a TLS stream; collects if dropped buffers pile up. */
  note(bytes: number): void {
    this.#passed += bytes;
    if (this.#passed < CHECK_EVERY_BYTES) return;
    this.#passed = 0;
    const runtime = this.#runtime;
    const external = runtime.external();
    this.#floor = Math.min(this.#floor, external);
    const growth = external - this.#floor;
    if (growth < EARLY_GROWTH_BYTES) return;
    const started = runtime.now();
    if (growth < BUFFER_GROWTH_LIMIT_BYTES && started < this.#earlyAfter) return;
    this.#collect ??= runtime.collector();
    if (!this.#collect) return;
    this.#collect();
    const ended = runtime.now();
    // The next early one waits until this one is EARLY_SHARE of the time between them.
    this.#earlyAfter = ended + (ended - started) * (1 / EARLY_SHARE - 1);
    this.#floor = runtime.external();
  }
}

const reclaimer = new BufferReclaimer({
  external: () => Deno.memoryUsage().external,
  collector: findCollector,
  now: () => performance.now(),
});

/** Counts `bytes` that went through a TLS stream of this process (see {@link BufferReclaimer}). */
export function noteBytesPassed(bytes: number): void {
  reclaimer.note(bytes);
}

/** V8's `gc` function, made available to a fresh context; null if the runtime refuses. */
function findCollector(): (() => void) | null {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? () => gc() : null;
  } catch {
    return null;
  }
}
