/**
 * The buffer that one socket's held writes of a turn are joined into,
 * shared by every socket of the process. A broadcast flushes thousands of
 * sockets in one turn, each with a few frames to join; a fresh
 * `ArrayBuffer` for each of them cost more than the copy itself. The
 * buffer is lent for one write at a time and serves the next join only if
 * the operating system took that write at once: a write that waits in the
 * socket's queue keeps it, and the next join gets a new one.
 *
 * @module
 */

/** The smallest buffer made: joins are usually a few small frames. */
const MIN_SIZE = 4096;

let spare: ArrayBuffer | undefined;

/**
 * Copies `chunks` (`bytes` in all) into the shared buffer and returns a
 * view of them. The view is lent: pass it to {@linkcode returnJoined} once
 * the write that took it says whether it still needs it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinChunks, returnJoined } from "./join_buffer.ts";
 *
 * const joined = joinChunks([new Uint8Array([1, 2]), new Uint8Array([3])], 3);
 * assert.deepEqual([...joined], [1, 2, 3]);
 * returnJoined(joined, false); // written at once: the next join reuses it
 * assert.equal(joinChunks([new Uint8Array([4])], 1).buffer, joined.buffer);
 * ```
 */
export function joinChunks(
  chunks: readonly Uint8Array[],
  bytes: number,
): Uint8Array {
  let buffer = spare;
  spare = undefined;
  if (buffer === undefined || buffer.byteLength < bytes) {
    let size = MIN_SIZE;
    while (size < bytes) size *= 2;
    buffer = new ArrayBuffer(size);
  }
  const joined = new Uint8Array(buffer, 0, bytes);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

/**
 * Gives back a view from {@linkcode joinChunks}: `stillQueued` when the
 * write keeps it (the socket queued it), and then it is never reused.
 */
export function returnJoined(joined: Uint8Array, stillQueued: boolean): void {
  if (stillQueued) return;
  const buffer = joined.buffer as ArrayBuffer;
  if (spare === undefined || spare.byteLength < buffer.byteLength) {
    spare = buffer;
  }
}
