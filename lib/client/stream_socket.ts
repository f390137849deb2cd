/**
 * The stream socket (like UWP's `StreamWebSocket`): binary data as web
 * streams. `readable` yields the parts of messages as they arrive, without
 * waiting for whole messages; `writable` sends each chunk as a binary
 * message, with backpressure.
 *
 * @module
 */

import type { EngineSocket } from "../engine/engine_socket.ts";
import { ClientSocket, notConnected } from "./client_socket.ts";
import { SocketControl, type SocketControlOptions } from "./socket_control.ts";

/** Settings of a {@linkcode StreamSocket}. */
export type StreamSocketOptions = SocketControlOptions;

const DEFAULT_PART = 64 * 1024;

/**
 * A client socket for bulk binary data (files, media). After `connect()`,
 * read `readable` and write `writable`; both apply backpressure, so memory
 * stays bounded whatever the sizes. Closing `writable` sends a close frame
 * (the peer may still send until it closes too); `readable` ends when the
 * peer's close frame arrives, and errors when the connection is lost.
 * Cancelling `readable` aborts the socket. Text messages arrive as their
 * UTF-8 bytes. Parts are at most `receiveBufferSize` bytes (64 KiB unless
 * set).
 *
 * `readable` is a byte stream. A default reader gets each part in a new
 * buffer; a BYOB reader (`getReader({ mode: "byob" })`) gets it copied into
 * the buffer it passes, up to that buffer's length. For bulk data use a
 * BYOB reader with one reused buffer: the client reads the connection into
 * reused buffers too, so the transfer allocates nothing per part and memory
 * stays flat.
 *
 * @example Send bytes and read them back from an echo server
 * ```ts
 * import { serveEngine, StreamSocket } from "@socketry/socketry";
 *
 * const server = serveEngine({ port: 0, path: "/ws" }, (socket) => {
 *   socket.addEventListener("message", ({ data }) => socket.send(data));
 * });
 * const { port } = await server.listening;
 *
 * const socket = new StreamSocket();
 * await socket.connect(`ws://127.0.0.1:${port}/ws`);
 * const writer = socket.writable.getWriter();
 * await writer.write(new Uint8Array([1, 2, 3]));
 * const reader = socket.readable.getReader();
 * const { value } = await reader.read();
 * console.log(value); // Uint8Array(3) [ 1, 2, 3 ]
 * await writer.close(); // sends the close frame
 * console.log((await socket.closed).code); // 1000
 * await server.shutdown();
 * ```
 *
 * @example Read into one reused buffer (BYOB)
 * ```ts
 * import { serveEngine, StreamSocket } from "@socketry/socketry";
 *
 * const server = serveEngine({ port: 0 }, async (socket) => {
 *   await socket.send(new Uint8Array(100_000).fill(7));
 *   await socket.close();
 * });
 * const { port } = await server.listening;
 *
 * const socket = new StreamSocket();
 * await socket.connect(`ws://127.0.0.1:${port}/`);
 * const reader = socket.readable.getReader({ mode: "byob" });
 * let buffer = new Uint8Array(16 * 1024);
 * let total = 0;
 * for (;;) {
 *   const { value, done } = await reader.read(buffer);
 *   if (done) break;
 *   total += value.byteLength;
 *   buffer = new Uint8Array(value.buffer); // the read hands it back
 * }
 * console.log(total); // 100000
 * await server.shutdown();
 * ```
 */
export class StreamSocket extends ClientSocket {
  /** The settings, fixed at `connect()`. */
  readonly control: SocketControl;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** Creates an unconnected socket with these settings. */
  constructor(options: StreamSocketOptions = {}) {
    super();
    this.control = new SocketControl({
      receiveBufferSize: DEFAULT_PART,
      ...options,
    });
  }

  /** The bytes received, part by part; available after `connect()`. */
  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable === undefined) throw notConnected();
    return this.#readable;
  }

  /** Each chunk written goes out as one binary message; available after `connect()`. */
  get writable(): WritableStream<Uint8Array> {
    if (this.#writable === undefined) throw notConnected();
    return this.#writable;
  }

  /** Builds the two streams over the connected socket. */
  protected attach(socket: EngineSocket): void {
    this.#readable = new ReadableStream({
      type: "bytes",
      async pull(controller) {
        const request = controller.byobRequest;
        const into = request?.view;
        if (request && into) {
          const part = await socket.receive({
            into: new Uint8Array(into.buffer, into.byteOffset, into.byteLength),
          });
          if (part.type === "close") {
            controller.close();
            request.respond(0);
          } else request.respond(part.data.byteLength);
          return;
        }
        const part = await socket.receive();
        if (part.type === "close") {
          controller.close();
          return;
        }
        // Enqueueing transfers the buffer: it must hold this part alone.
        const { data } = part;
        controller.enqueue(
          data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
            ? data
            : data.slice(),
        );
      },
      cancel() {
        socket.abort();
      },
    }, { highWaterMark: 0 });
    this.#writable = new WritableStream<Uint8Array>({
      write(chunk) {
        return socket.send(chunk, { type: "binary" });
      },
      async close() {
        await socket.closeOutput();
      },
      abort() {
        socket.abort();
      },
    }, { highWaterMark: 1 });
  }
}
