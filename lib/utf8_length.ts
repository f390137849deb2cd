/**
 * The UTF-8 size of a string without encoding it, for statistics and limits
 * on the hot path. Lone surrogates count as U+FFFD (3 bytes), as
 * `TextEncoder` would encode them.
 *
 * @module
 */

const NON_ASCII = /[\u0080-\uffff]/;

/** The number of bytes `new TextEncoder().encode(text)` would produce. */
export function utf8ByteLength(text: string): number {
  // Most protocol text is ASCII; the regex scan is much faster than the loop.
  const first = text.search(NON_ASCII);
  if (first === -1) return text.length;
  let bytes = first;
  for (let i = first; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
