/**
 * Lowercase hexadecimal, the way digests travel outside the wire (logs,
 * the journal, the sync state). Both directions are the runtime's own
 * (`Uint8Array.prototype.toHex`, `Uint8Array.fromHex`): a digest is
 * spelled for every small file a server stores and every change a sync
 * reads, and mapping bytes to strings one by one took 40 times as long.
 *
 * @module
 */

/**
 * `bytes` as lowercase hex.
 *
 * @example
 * ```ts
 * toHex(Uint8Array.of(0, 171)); // "00ab"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/**
 * The bytes `hex` spells (an even number of hex digits, either case).
 *
 * @example
 * ```ts
 * fromHex("00ab"); // Uint8Array [0, 171]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  try {
    return Uint8Array.fromHex(hex);
  } catch {
    throw new RangeError(`not hex: ${hex.slice(0, 16)}`);
  }
}
