/**
 * Keeps the memory of TLS traffic bounded when the machine is busy. node:tls
 * hands every decrypted chunk, and every encrypted one, over in a new
 * buffer. V8 starts collecting dropped buffers on its own once about 64 MB
 * of them have piled up, but concurrently, and on a loaded machine that
 * lags behind a fast transfer: a server's peak RSS over a 1 GiB upload and
 * download reached 270 MB under the parallel test suite (about 190 MB with
 * this). So the TLS streams report the bytes they pass; every
 * {@link CHECK_EVERY_BYTES} the buffer memory is looked at (a few
 * microseconds), and once it has grown by {@link BUFFER_GROWTH_LIMIT_BYTES}
 * (V8's own threshold) over what was live, a collection runs at once. On a
 * calm machine V8 has mostly collected by then, so this costs next to
 * nothing (a 256 MiB transfer took as long with it as without, within the
 * benchmark's noise). Where the runtime offers no way to ask for a
 * collection, it does nothing.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

/** TLS traffic between two looks at the buffer memory. */
export const CHECK_EVERY_BYTES = 4 * 1024 * 1024;
/**
 * Growth of buffer memory (V8's "external") over the lowest level seen
 * since the last forced collection, past which the next is forced. The
 * lowest level is what was live after a collection, so buffers in use (many
 * connections' read-ahead) never make collections run back to back.
 */
export const BUFFER_GROWTH_LIMIT_BYTES = 64 * 1024 * 1024;

type Collector = () => void;

let collector: Collector | null | undefined;
let passed = 0;
let floor = Infinity;

/** Counts `bytes` that went through a TLS stream; collects if dropped buffers pile up. */
export function noteBytesPassed(bytes: number): void {
  passed += bytes;
  if (passed < CHECK_EVERY_BYTES) return;
  passed = 0;
  const external = Deno.memoryUsage().external;
  floor = Math.min(floor, external);
  if (external - floor < BUFFER_GROWTH_LIMIT_BYTES) return;
  collector ??= findCollector();
  if (!collector) return;
  collector();
  floor = Deno.memoryUsage().external;
}

/** V8's `gc` function, made available to a fresh context; null if the runtime refuses. */
function findCollector(): Collector | null {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? () => gc() : null;
  } catch {
    return null;
  }
}
