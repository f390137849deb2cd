/**
 * The byte duplex the engine runs over, and its adapter for `node:net`
 * sockets (what `node:http`'s `upgrade` event hands over under Deno).
 *
 * @module
 */

import type { Http2Stream } from "node:http2";
import type { Socket as NetSocket } from "node:net";
import { Deadline, deadlines } from "./deadlines.ts";
import { hostPort } from "./host_port.ts";
import { joinChunks, returnJoined } from "./join_buffer.ts";
import { ReadBuffers } from "./read_buffers.ts";
import { flushAtTurnEnd, type TurnWriter } from "./turn_writes.ts";

const EMPTY_WRITE = new Uint8Array(0);

/** Writes at least this big are not held back until the turn ends. */
const LARGE_WRITE = 16 * 1024;
/**
 * Held writes up to this many bytes in all are joined into one buffer;
 * past it, copying costs more than Node's writev of the separate chunks.
 */
const JOIN_LIMIT = 64 * 1024;
/**
 * How long an ended socket may take to hand its last bytes to a peer that
 * does not read them before it is dropped.
 */
const END_TIMEOUT = 2000;
// Where a socket keeps its transport, for the listeners all sockets share.
const TRANSPORT = Symbol("socketry.transport");

/** Where a transport delivers what it reads. */
export interface TransportSink {
  /**
   * Bytes arrived. Without `hold`, the engine may keep the chunk. With it,
   * the chunk views a buffer the transport reads into again once this call
   * returns: to keep views of it, call `hold()`, and the function it
   * returns once they are no longer needed.
   */
  data(chunk: Uint8Array, hold?: () => () => void): void;
  /** The transport ended: at EOF without `error`, or because of it. */
  end(error?: unknown): void;
}

/** A byte duplex the engine can drive. */
export interface Transport {
  /** Starts reading into `sink`; called once. */
  start(sink: TransportSink): void;
  /**
   * Queues bytes for writing, in order. `onWritten`, when the transport
   * supports it, is called once the chunk reached the operating system and
   * may be reused; transports that hand chunks on (web streams) never call it.
   */
  write(chunk: Uint8Array, onWritten?: () => void): void;
  /**
   * Whether `write()` calls `onWritten` for every chunk, once the chunk
   * went out or never will (the connection ended): then a caller's bytes
   * can be written without a copy, and the caller told when it may change
   * them again. Absent means false.
   */
  readonly reportsWrites?: boolean;
  /**
   * Holds the writes of the current event-loop turn and sends them
   * together at its end (optional: a transport may write at once).
   */
  corkForTurn?(): void;
  /** Bytes queued and not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /** Resolves when the write queue drained (or the transport ended). */
  drained(): Promise<void>;
  /** Stops reading until `resume()`: backpressure towards the peer. */
  pause(): void;
  /** Reads again after `pause()`. */
  resume(): void;
  /** Flushes what is queued, then closes the write side (TCP FIN). */
  end(): void;
  /** Drops the connection at once. */
  destroy(): void;
  /** The local address as `host:port`, when the transport has one. */
  readonly localAddress?: string | undefined;
  /** The remote address as `host:port`, when the transport has one. */
  readonly remoteAddress?: string | undefined;
}

/**
 * Adapts a `node:net` socket, or an HTTP/2 stream (a WebSocket over
 * HTTP/2, RFC 8441). `head` holds bytes already read past the handshake.
 * A socket opened with {@linkcode ReadBuffers} lends its reads.
 */
export class NetSocketTransport implements Transport, TurnWriter {
  readonly #socket: NetSocket | Http2Stream;
  // Read from the start for an HTTP/2 stream, which loses its session when
  // it ends; on first use for a socket, which most never need to format.
  #localAddress: string | undefined;
  #remoteAddress: string | undefined;
  #addressesRead = false;
  readonly #head: Uint8Array | undefined;
  #ended = false;
  #sink: TransportSink | undefined;
  // Chunks written in this turn after corkForTurn(), their size, and the
  // callbacks of those that asked to hear when they may be reused.
  #held: Uint8Array[] | undefined;
  #heldBytes = 0;
  #heldDone: (() => void)[] | undefined;
  // Drops the socket if it is still open a while after end(), through a
  // deadline shared with every other socket: a timer each (set, then
  // cleared on close) cost about 15 of 155 us of server CPU per cycle
  // under handshake load.
  #ending: EndDeadline | undefined;

  /** Wraps `socket`; `head` is delivered before anything read later. */
  constructor(socket: NetSocket | Http2Stream, head?: Uint8Array) {
    this.#socket = socket;
    if ("session" in socket) this.#readAddresses();
    this.#head = head !== undefined && head.byteLength > 0
      ? new Uint8Array(head.buffer, head.byteOffset, head.byteLength)
      : undefined;
    // An HTTP/2 session's socket refuses to be configured through a stream.
    if (!("session" in socket)) socket.setNoDelay(true);
  }

  start(sink: TransportSink): void {
    const socket = this.#socket;
    this.#sink = sink;
    // The socket finds its transport: the same four functions serve every
    // socket, where closures made for each cost about 0.3 KiB a socket.
    (socket as unknown as Record<symbol, NetSocketTransport>)[TRANSPORT] = this;
    if (this.#head !== undefined) sink.data(this.#head);
    const buffers = "session" in socket ? undefined : ReadBuffers.of(socket);
    if (buffers !== undefined) {
      buffers.listen((chunk, hold) => {
        this.corkForTurn();
        sink.data(chunk, hold);
      });
    } else {
      socket.on("data", NetSocketTransport.#onData);
    }
    socket.on("end", NetSocketTransport.#onEnd);
    socket.on("error", NetSocketTransport.#onError);
    socket.on("close", NetSocketTransport.#onClose);
    // A socket paused after reading a handshake stays paused until asked.
    socket.resume();
  }

  static #of(socket: NetSocket | Http2Stream): NetSocketTransport {
    return (socket as unknown as Record<symbol, NetSocketTransport>)[
      TRANSPORT
    ]!;
  }

  static readonly #onData = function (
    this: NetSocket | Http2Stream,
    chunk: Uint8Array,
  ): void {
    const transport = NetSocketTransport.#of(this);
    transport.corkForTurn();
    // A plain Uint8Array view: applications never see Node's Buffer.
    transport.#sink?.data(
      new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
  };

  static readonly #onEnd = function (this: NetSocket | Http2Stream): void {
    NetSocketTransport.#of(this).#finish();
  };

  static readonly #onError = function (
    this: NetSocket | Http2Stream,
    error: Error,
  ): void {
    NetSocketTransport.#of(this).#finish(error);
  };

  static readonly #onClose = function (this: NetSocket | Http2Stream): void {
    const transport = NetSocketTransport.#of(this);
    if (transport.#ending !== undefined) deadlines.cancel(transport.#ending);
    transport.#finish();
  };

  #finish(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#sink?.end(error);
  }

  write(chunk: Uint8Array, onWritten?: () => void): void {
    if (this.#socket.destroyed) {
      onWritten?.();
      return;
    }
    if (this.#held !== undefined) {
      if (chunk.byteLength < LARGE_WRITE) {
        this.#held.push(chunk);
        this.#heldBytes += chunk.byteLength;
        if (onWritten !== undefined) (this.#heldDone ??= []).push(onWritten);
        return;
      }
      // A large chunk would only be copied into the joined write: send
      // what is held, then the chunk as it is.
      this.#writeNow(chunk, onWritten, true);
      return;
    }
    this.#writeNow(chunk, onWritten);
  }

  /** `write()` calls back for every chunk (Node calls back on errors too). */
  get reportsWrites(): boolean {
    return true;
  }

  /** Writes `chunk`; with `afterHeld`, what is held first, in one system call. */
  #writeNow(
    chunk: Uint8Array,
    onWritten?: () => void,
    afterHeld = false,
  ): void {
    const socket = this.#socket;
    if (afterHeld) {
      socket.cork();
      this.flushTurn();
    }
    const written = onWritten && once(onWritten);
    socket.write(chunk, written);
    if (afterHeld) socket.uncork();
    // Nothing queued: the chunk went to the kernel during write(). Node
    // calls back only on a later tick, which a sender looping on resolved
    // promises may not reach for thousands of frames: say so now.
    if (written !== undefined && socket.writableLength === 0) written();
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength + this.#heldBytes;
  }

  /**
   * Everything written in answer to what was read in this turn of the
   * event loop (by listeners, or by async loops resuming in microtasks),
   * or broadcast to this socket in it, leaves in one write at its end
   * instead of one send per frame.
   */
  corkForTurn(): void {
    if (this.#held !== undefined) return;
    this.#held = [];
    flushAtTurnEnd(this);
  }

  /** Writes what was held in this turn. */
  flushTurn(): void {
    const held = this.#held;
    if (held === undefined) return;
    const done = this.#heldDone;
    const bytes = this.#heldBytes;
    this.#held = undefined;
    this.#heldDone = undefined;
    this.#heldBytes = 0;
    const socket = this.#socket;
    if (held.length === 0 || socket.destroyed) {
      // Nothing to write, or never to be written: the chunks are free.
      if (done !== undefined) { for (const free of done) free(); }
      return;
    }
    if (held.length === 1) {
      this.#writeNow(held[0]!, done?.[0]);
      return;
    }
    const freeAll = done === undefined ? undefined : () => {
      for (const free of done) free();
    };
    if (bytes > JOIN_LIMIT) {
      socket.cork();
      for (let i = 0; i < held.length - 1; i++) socket.write(held[i]!);
      this.#writeNow(held[held.length - 1]!, freeAll);
      socket.uncork();
      return;
    }
    const joined = joinChunks(held, bytes);
    socket.write(joined);
    // Empty after the write: the kernel took the joined bytes at once. An
    // HTTP/2 stream hands them to its session, which may keep them.
    returnJoined(joined, socket.writableLength > 0 || "session" in socket);
    // Copied: the chunks may be reused at once.
    freeAll?.();
  }

  drained(): Promise<void> {
    this.flushTurn();
    const socket = this.#socket;
    if (socket.writableLength === 0 || socket.destroyed) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
      // "drain" follows only a refused write; otherwise the callback of an
      // empty write says when everything queued before it has gone out.
      if (!socket.writableNeedDrain) socket.write(EMPTY_WRITE, done);
    });
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  end(): void {
    if (this.#socket.destroyed) return;
    this.flushTurn();
    this.#socket.end();
    // A peer that never reads would hold the socket open: drop it after a while.
    this.#ending ??= new EndDeadline(this.#socket);
    if (!this.#ending.scheduled) {
      deadlines.schedule(this.#ending, Date.now() + END_TIMEOUT);
    }
  }

  destroy(): void {
    this.#socket.destroy();
    this.flushTurn();
  }

  get localAddress(): string | undefined {
    this.#readAddresses();
    return this.#localAddress;
  }

  get remoteAddress(): string | undefined {
    this.#readAddresses();
    return this.#remoteAddress;
  }

  #readAddresses(): void {
    if (this.#addressesRead) return;
    this.#addressesRead = true;
    const socket = this.#socket;
    const connection = "session" in socket
      ? socket.session?.socket as NetSocket | undefined
      : socket;
    this.#localAddress = hostPort(
      connection?.localAddress,
      connection?.localPort,
    );
    this.#remoteAddress = hostPort(
      connection?.remoteAddress,
      connection?.remotePort,
    );
  }
}

/** Destroys an ended socket that is still open when it is due. */
class EndDeadline extends Deadline {
  readonly #socket: NetSocket | Http2Stream;

  constructor(socket: NetSocket | Http2Stream) {
    super();
    this.#socket = socket;
  }

  expire(): void {
    this.#socket.destroy();
  }
}

/**
 * `callback`, called at most once: Node calls a write's callback with an
 * error too (the chunk is not read after that), and the writer may have
 * called it already when the chunk went out at once.
 */
function once(callback: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    callback();
  };
}
