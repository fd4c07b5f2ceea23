/**
 * Writing a whole buffer with synchronous writes, which may each take only
 * part of it.
 *
 * @module
 */

/**
 * Writes all of `bytes` to `file` at its current position.
 *
 * @example
 * ```ts
 * using file = Deno.openSync("out.bin", { write: true, create: true });
 * writeAllSync(file, new Uint8Array([1, 2, 3]));
 * ```
 */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) offset += file.writeSync(bytes.subarray(offset));
}
