/**
 * A {@linkcode Transport} over a pair of web streams, so that a socket can run
 * over any byte stream: a pipe, a TLS stream, a test harness.
 *
 * @module
 */

import type { Transport, TransportSink } from "./transport.ts";

/** Adapts a readable and a writable byte stream. */
export class StreamTransport implements Transport {
  readonly #readable: ReadableStream<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #pending = 0;
  #writes: Promise<void> = Promise.resolve();
  #resume: PromiseWithResolvers<void> | undefined;
  #closed = false;

  /** Takes over both streams: they are locked from now on. */
  constructor(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
  ) {
    this.#readable = readable;
    this.#writer = writable.getWriter();
  }

  start(sink: TransportSink): void {
    this.#reader = this.#readable.getReader();
    this.#readLoop(this.#reader, sink);
  }

  async #readLoop(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    sink: TransportSink,
  ): Promise<void> {
    try {
      while (!this.#closed) {
        if (this.#resume !== undefined) await this.#resume.promise;
        const { value, done } = await reader.read();
        if (done) break;
        // Copy: the stream's producer may reuse its buffer.
        if (value.byteLength > 0) sink.data(value.slice());
      }
      sink.end();
    } catch (error) {
      sink.end(this.#closed ? undefined : error);
    } finally {
      this.#close();
    }
  }

  write(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#pending += chunk.byteLength;
    this.#writes = this.#writer.write(chunk).then(
      () => {
        this.#pending -= chunk.byteLength;
      },
      () => this.#close(),
    );
  }

  get bufferedAmount(): number {
    return this.#pending;
  }

  drained(): Promise<void> {
    return this.#writes;
  }

  pause(): void {
    this.#resume ??= Promise.withResolvers<void>();
  }

  resume(): void {
    this.#resume?.resolve();
    this.#resume = undefined;
  }

  end(): void {
    if (this.#closed) return;
    this.#writes.then(() => this.#writer.close()).catch(() => {});
  }

  destroy(): void {
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.resume();
    this.#reader?.cancel().catch(() => {});
    this.#writer.abort().catch(() => {});
  }
}
