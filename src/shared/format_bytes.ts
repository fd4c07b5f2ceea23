/**
 * Byte counts for people: the client's listings and progress, the server's
 * quota messages.
 *
 * @module
 */

/**
 * "1.5 MiB" style sizes (powers of 1024, one decimal past bytes).
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * formatBytes(12); // "12 B"
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
