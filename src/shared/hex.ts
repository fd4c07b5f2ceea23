/**
 * Lowercase hexadecimal, the way digests travel outside the wire (logs,
 * the journal, the sync state).
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
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * The bytes `hex` spells (an even number of hex digits).
 *
 * @example
 * ```ts
 * fromHex("00ab"); // Uint8Array [0, 171]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new RangeError(`not hex: ${hex.slice(0, 16)}`);
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
