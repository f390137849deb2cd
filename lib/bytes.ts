/**
 * Joining byte arrays, the one copy loop that the engine, the client and the
 * handshake share.
 *
 * @module
 */

/**
 * The bytes of `parts` one after the other. A single part comes back as a
 * plain view of the same bytes, not a copy; `size`, when the caller already
 * knows the total, saves adding it up.
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  size?: number,
): Uint8Array {
  if (parts.length === 1) {
    const only = parts[0]!;
    return new Uint8Array(only.buffer, only.byteOffset, only.byteLength);
  }
  let total = size ?? 0;
  if (size === undefined) {
    for (const part of parts) {
      total += part.byteLength;
    }
  }
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}
