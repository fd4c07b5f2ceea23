/**
 * The UTF-8 length of a string without encoding it: what
 * `new TextEncoder().encode(text).length` gives (a lone surrogate counts as
 * the 3 bytes of the U+FFFD the encoder writes for it), with no allocation.
 * Path checks run it for every request and every scanned file.
 *
 * @module
 */

/** Bytes `text` takes in UTF-8. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1))) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
