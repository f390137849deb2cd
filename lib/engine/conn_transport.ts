/**
 * A {@linkcode Transport} over a `Deno.Conn` (TCP or TLS), for the client and
 * for sockets over any connection Deno opened.
 *
 * @module
 */

import type { Transport, TransportSink } from "./transport.ts";

const READ_SIZE = 64 * 1024;
// Reads smaller than this are copied out so a queued message does not pin
// a whole read buffer; larger ones hand the buffer over.
const COPY_BELOW = 16 * 1024;

/** Adapts a `Deno.Conn`. `head` holds bytes already read past the handshake. */
export class ConnTransport implements Transport {
  readonly #conn: Deno.Conn;
  readonly #head: Uint8Array | undefined;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #drainWaiters: (() => void)[] = [];
  #resume: PromiseWithResolvers<void> | undefined;
  #ending = false;
  #closed = false;

  /** Wraps `conn`; `head` is delivered before anything read later. */
  constructor(conn: Deno.Conn, head?: Uint8Array) {
    this.#conn = conn;
    this.#head = head !== undefined && head.byteLength > 0 ? head : undefined;
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
  }

  start(sink: TransportSink): void {
    this.#readLoop(sink);
  }

  async #readLoop(sink: TransportSink): Promise<void> {
    if (this.#head !== undefined) sink.data(this.#head);
    let buffer = new Uint8Array(READ_SIZE);
    try {
      while (!this.#closed) {
        if (this.#resume !== undefined) await this.#resume.promise;
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        if (n < COPY_BELOW) sink.data(buffer.slice(0, n));
        else {
          sink.data(buffer.subarray(0, n));
          buffer = new Uint8Array(READ_SIZE);
        }
      }
      this.#close();
      sink.end();
    } catch (error) {
      const wasClosed = this.#closed;
      this.#close();
      sink.end(wasClosed ? undefined : error);
    }
  }

  write(chunk: Uint8Array): void {
    if (this.#closed || this.#ending) return;
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    if (!this.#writing) this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        let chunk = this.#queue[0]!;
        while (chunk.byteLength > 0) {
          const written = await this.#conn.write(chunk);
          this.#queued -= written;
          chunk = chunk.subarray(written);
        }
        this.#queue.shift();
      }
    } catch {
      this.#close();
    } finally {
      this.#writing = false;
      for (const wake of this.#drainWaiters.splice(0)) wake();
    }
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  pause(): void {
    this.#resume ??= Promise.withResolvers<void>();
  }

  resume(): void {
    this.#resume?.resolve();
    this.#resume = undefined;
  }

  end(): void {
    if (this.#ending || this.#closed) return;
    this.#ending = true;
    this.drained().then(async () => {
      try {
        await this.#conn.closeWrite();
      } catch {
        this.#close();
        return;
      }
      // A peer that never closes its side would hold the connection.
      const timer = setTimeout(() => this.#close(), 2000);
      Deno.unrefTimer(timer);
    });
  }

  destroy(): void {
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.resume();
    this.#queue.length = 0;
    this.#queued = 0;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  get localAddress(): string | undefined {
    return formatAddress(this.#conn.localAddr);
  }

  get remoteAddress(): string | undefined {
    return formatAddress(this.#conn.remoteAddr);
  }
}

function formatAddress(address: Deno.Addr): string | undefined {
  return "hostname" in address ? address.hostname : undefined;
}
