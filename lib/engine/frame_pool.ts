/**
 * Reusable buffers for outgoing frames. Every frame the engine writes is a
 * fresh buffer otherwise, and V8 frees those only after tens of MiB piled
 * up, so a bulk transfer would hold that much garbage. Buffers come back
 * when the transport reports them written.
 *
 * @module
 */

/** Frames at least this big come from the pool. */
const MIN_POOLED = 16 * 1024;
/** The size of each pooled buffer: a 64 KiB payload with its header. */
const BUFFER_SIZE = 64 * 1024 + 14;
/** At most this many free buffers are kept (about 2 MiB). */
const MAX_FREE = 32;

const free: ArrayBuffer[] = [];
// Smaller frames are cut from a shared slab, as Node's Buffer pool does:
// one allocation per 64 KiB of small frames instead of one per frame. A
// slab is never reused, only left to the collector once its frames are.
const SLAB_SIZE = 64 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabOffset = 0;

/**
 * A buffer of `size` bytes: a view of a pooled buffer when `size` is in the
 * pooled range (give it back with {@linkcode releaseFrame}), a new one
 * otherwise (then `pooled` is false).
 */
export function takeFrame(
  size: number,
): { frame: Uint8Array; pooled: boolean } {
  if (size < MIN_POOLED) {
    if (slabOffset + size > SLAB_SIZE) {
      slab = new ArrayBuffer(SLAB_SIZE);
      slabOffset = 0;
    }
    const frame = new Uint8Array(slab, slabOffset, size);
    // Keeps the next frame 8-byte aligned, for the 32-bit masking loop.
    slabOffset += (size + 7) & ~7;
    return { frame, pooled: false };
  }
  if (size > BUFFER_SIZE) return { frame: new Uint8Array(size), pooled: false };
  const buffer = free.pop() ?? new ArrayBuffer(BUFFER_SIZE);
  return { frame: new Uint8Array(buffer, 0, size), pooled: true };
}

/** Returns a pooled frame once nothing reads it any more. */
export function releaseFrame(frame: Uint8Array): void {
  if (free.length < MAX_FREE) free.push(frame.buffer as ArrayBuffer);
}
