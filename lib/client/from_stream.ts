/**
 * A socket over any byte stream (like .NET's `CreateFromStream`): the
 * opening handshake is assumed done, or never needed.
 *
 * @module
 */

import {
  EngineSocket,
  type EngineSocketOptions,
} from "../engine/engine_socket.ts";
import { StreamTransport } from "../engine/stream_transport.ts";
import type { Role } from "../protocol/parser.ts";

/** Options of {@linkcode fromStream}. */
export interface FromStreamOptions extends EngineSocketOptions {
  /** `"client"` masks what it sends (default); `"server"` expects masked frames. */
  role?: Role;
}

/**
 * Runs a WebSocket over a readable and a writable byte stream whose opening
 * handshake is already done. Keep-alive is off unless asked for.
 *
 * @example Two sockets over an in-memory pipe
 * ```ts
 * import { fromStream } from "@socketry/socketry";
 *
 * const aToB = new TransformStream<Uint8Array, Uint8Array>();
 * const bToA = new TransformStream<Uint8Array, Uint8Array>();
 * const a = fromStream(bToA.readable, aToB.writable, { role: "client" });
 * const b = fromStream(aToB.readable, bToA.writable, { role: "server" });
 * await a.send("over a pipe");
 * for await (const message of b) {
 *   console.log(message); // "over a pipe"
 *   break;
 * }
 * await a.close();
 * ```
 */
export function fromStream(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  options: FromStreamOptions = {},
): EngineSocket {
  const { role = "client", ...socketOptions } = options;
  if (role !== "client" && role !== "server") {
    throw new TypeError(`role must be "client" or "server", got ${role}`);
  }
  return new EngineSocket(
    new StreamTransport(readable, writable),
    role,
    socketOptions,
  );
}
