/**
 * The layout of one zstd frame (RFC 8878 §3.1.1), walked without inflating
 * it: header, blocks, optional checksum. The zstd library inflates a frame
 * cut short as far as its bytes go and reports no error, so a `DataZstd`
 * payload is checked here first to be exactly one complete frame
 * (PROTOCOL.md §5.7).
 *
 * @module
 */

/** The magic number opening every zstd frame, little-endian on the wire. */
const ZSTD_MAGIC = 0xfd2fb528;
/** Size of the Frame_Content_Size field by its flag (flag 0: 1 byte if single-segment, else 0). */
const CONTENT_SIZE_BYTES = [0, 2, 4, 8];
/** Size of the Dictionary_ID field by its flag. */
const DICTIONARY_ID_BYTES = [0, 1, 2, 4];
const BLOCK_HEADER_BYTES = 3;
const CHECKSUM_BYTES = 4;
const RLE_BLOCK = 1;
const RESERVED_BLOCK = 3;

/**
 * Why `payload` is not exactly one complete zstd frame, or undefined if it
 * is. Checks the structure only; the content is checked by inflating it.
 *
 * @example
 * ```ts
 * frameProblem(zstdCompress(bytes)); // undefined
 * frameProblem(zstdCompress(bytes).subarray(0, 10)); // "a block declares 100 bytes, 1 follow"
 * ```
 */
export function frameProblem(payload: Uint8Array): string | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length < 5 || view.getUint32(0, true) !== ZSTD_MAGIC) {
    return "it does not start with a zstd frame header";
  }
  const descriptor = payload[4];
  if (descriptor & 0x08) return "the frame header's reserved bit is set";
  const singleSegment = (descriptor >> 5) & 1;
  const contentSizeFlag = descriptor >> 6;
  let offset = 5 + (singleSegment ? 0 : 1) + DICTIONARY_ID_BYTES[descriptor & 3] +
    (contentSizeFlag === 0 ? singleSegment : CONTENT_SIZE_BYTES[contentSizeFlag]);
  if (offset > payload.length) return "it ends inside the frame header";
  for (let last = false; !last;) {
    if (offset + BLOCK_HEADER_BYTES > payload.length) return "it ends before its last block";
    const header = payload[offset] | payload[offset + 1] << 8 | payload[offset + 2] << 16;
    last = (header & 1) === 1;
    const type = (header >> 1) & 3;
    if (type === RESERVED_BLOCK) return "a block has the reserved block type";
    const size = type === RLE_BLOCK ? 1 : header >>> 3;
    offset += BLOCK_HEADER_BYTES;
    if (offset + size > payload.length) {
      return `a block declares ${size} bytes, ${payload.length - offset} follow`;
    }
    offset += size;
  }
  if (descriptor & 0x04) offset += CHECKSUM_BYTES;
  if (offset > payload.length) return "it ends inside its checksum";
  if (offset < payload.length) return `${payload.length - offset} bytes follow the frame`;
  return undefined;
}
