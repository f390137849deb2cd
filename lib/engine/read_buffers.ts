/**
 * Lent read buffers for client sockets. A `node:net` socket that emits
 * `data` events reads every chunk into a fresh buffer, and V8 frees those
 * only after tens of MiB piled up: a bulk transfer holds that much garbage
 * (moving 1 GiB that way raised RSS by over 200 MiB; read into reused
 * buffers, by 6 MiB). Sockets opened with {@linkcode ReadBuffers.onread}
 * read into a small pool instead; the reader borrows a buffer while it
 * keeps views of it and gives it back when done.
 *
 * @module
 */

import type { Socket as NetSocket } from "node:net";

/** The size of each read buffer: what one read takes at most. */
export const READ_BUFFER_SIZE = 64 * 1024;
/**
 * At most this many free buffers are kept (2 MiB): enough for what a
 * socket holds before it pauses reading (about 1 MiB), with room to spare.
 */
const MAX_FREE = 32;

/** Gives back a buffer that was held; calling it again does nothing. */
export type Release = () => void;

/**
 * Receives what the socket read. `chunk` views a lent buffer that the next
 * read overwrites once this call returns, unless `hold()` was called; the
 * function `hold()` returns gives it back.
 */
export type LentReader = (chunk: Uint8Array, hold: () => Release) => void;

interface Slot {
  readonly bytes: Uint8Array;
  holds: number;
}

const lent = new WeakMap<NetSocket, ReadBuffers>();

/**
 * A pool of read buffers for one socket. Create it, pass
 * {@linkcode ReadBuffers.onread} to `net.connect()` or `tls.connect()`, and
 * register the socket with {@linkcode ReadBuffers.attach}; readers then
 * find it with {@linkcode ReadBuffers.of}.
 */
export class ReadBuffers {
  #allocated = 1;
  #current: Slot = { bytes: new Uint8Array(READ_BUFFER_SIZE), holds: 0 };
  readonly #free: Slot[] = [];
  #reader: LentReader | undefined;
  // Bytes read while no reader listened (a read already under way when
  // the previous reader paused the socket), handed to the next reader.
  #early: Uint8Array[] = [];

  /** The `onread` option that makes a socket read into this pool. */
  readonly onread: {
    buffer: () => Uint8Array;
    callback: (length: number, buffer: Uint8Array) => boolean;
  } = {
    buffer: () => this.#nextBuffer(),
    callback: (length) => {
      this.#deliver(length);
      return true;
    },
  };

  /** The pool `socket` reads into, if it was opened with one. */
  static of(socket: NetSocket): ReadBuffers | undefined {
    return lent.get(socket);
  }

  /** Records that `socket` reads into this pool. */
  attach(socket: NetSocket): void {
    lent.set(socket, this);
  }

  /**
   * Makes `reader` the receiver of every read from now on (`undefined`
   * for none). Bytes read while nobody listened go to it first.
   */
  listen(reader: LentReader | undefined): void {
    this.#reader = reader;
    if (reader === undefined) return;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) reader(chunk, ownedHold);
  }

  /** How many buffers this pool has created: what its reads have cost. */
  get allocated(): number {
    return this.#allocated;
  }

  #deliver(length: number): void {
    const slot = this.#current;
    const chunk = slot.bytes.subarray(0, length);
    const reader = this.#reader;
    if (reader === undefined) {
      this.#early.push(chunk.slice());
      return;
    }
    reader(chunk, () => this.#hold(slot));
  }

  #hold(slot: Slot): Release {
    slot.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--slot.holds === 0 && slot !== this.#current) {
        if (this.#free.length < MAX_FREE) this.#free.push(slot);
      }
    };
  }

  #newSlot(): Slot {
    this.#allocated++;
    return { bytes: new Uint8Array(READ_BUFFER_SIZE), holds: 0 };
  }

  // Called after each read for the buffer of the next one.
  #nextBuffer(): Uint8Array {
    if (this.#current.holds > 0) {
      this.#current = this.#free.pop() ?? this.#newSlot();
    }
    return this.#current.bytes;
  }
}

// Bytes the reader owns already need no holding.
const ownedHold = (): Release => noRelease;
const noRelease: Release = () => {};
