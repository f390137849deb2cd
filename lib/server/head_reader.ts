/**
 * The first request head of a connection, read by the listener itself:
 * WebSocket upgrades go straight to the engine, without `node:http`'s
 * per-connection parser and request objects; anything else, and a
 * cleartext HTTP/2 preface, is handed on with the bytes already read put
 * back.
 *
 * @module
 */

import type { Socket } from "node:net";
import { hasToken } from "../protocol/header_tokens.ts";
import {
  type HeadError,
  parseRequestHead,
  type RequestHead,
} from "../protocol/request_head.ts";
import type { WaitTimer } from "../wait_timer.ts";
import { destroyEmitter } from "./destroy_emitter.ts";

/** Where the connection goes once its start has been read. */
export interface HeadRoutes {
  /**
   * A WebSocket upgrade request: `rest` holds the bytes read past its head
   * (frames the client sent early). The socket is paused.
   */
  webSocket(socket: Socket, head: RequestHead, rest: Uint8Array): void;
  /** Anything else: the bytes read were put back; the socket is paused. */
  other(socket: Socket): void;
  /** The HTTP/2 connection preface (only asked for with `http2`). */
  http2?(socket: Socket): void;
}

/** How heads are read. */
export interface HeadReaderOptions {
  /** The largest head accepted, in bytes (larger: 431). */
  readonly maxHeadSize: number;
  /** The most header fields accepted (more: 431). */
  readonly maxFields: number;
  /**
   * The deadlines of the heads: how long a whole head may take to arrive.
   * One timer for all connections, not one each.
   */
  readonly deadlines: WaitTimer;
  /** The connections whose head is being read, for shutdown to drop. */
  readonly pending: Set<Socket>;
}

// The client connection preface of HTTP/2 (RFC 9113 section 3.4).
const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const STATUS_TEXT = {
  400: "Bad Request",
  431: "Request Header Fields Too Large",
  505: "HTTP Version Not Supported",
};
const encoder = new TextEncoder();

/**
 * Reads the start of `socket` and routes it. The head must be complete
 * before its deadline however slowly its bytes come (a slow-loris client is
 * dropped); a malformed or oversized head is answered with 400, 431 or 505
 * and the connection closed.
 */
export function readHead(
  socket: Socket,
  options: HeadReaderOptions,
  routes: HeadRoutes,
): void {
  let received: Uint8Array = new Uint8Array(0);
  let scanned = 0;
  const { pending } = options;
  pending.add(socket);
  const done = () => {
    cancel();
    pending.delete(socket);
    socket.off("data", onData);
    socket.off("close", done);
    socket.pause();
  };
  const cancel = options.deadlines.start(() => {
    done();
    socket.destroy();
  });
  const onData = (chunk: Uint8Array) => {
    received = received.byteLength === 0 ? chunk : join(received, chunk);
    if (routes.http2 !== undefined && startsLikePreface(received)) {
      if (received.byteLength < PREFACE.byteLength) return;
      done();
      socket.unshift(received);
      routes.http2(socket);
      return;
    }
    const parsed = parseRequestHead(received, options, scanned);
    if (parsed.kind === "more") {
      scanned = parsed.scanned;
      return;
    }
    done();
    if (parsed.kind === "error") {
      refuse(socket, parsed.error);
      return;
    }
    const { head } = parsed;
    if (isWebSocketUpgrade(head)) {
      routes.webSocket(socket, head, received.subarray(head.length));
      return;
    }
    socket.unshift(received);
    routes.other(socket);
  };
  socket.on("data", onData);
  socket.on("close", done);
  socket.on("error", destroyEmitter);
}

/**
 * Whether the head asks to upgrade to WebSocket as `node:http` would see
 * it (`Connection: upgrade` and `Upgrade: websocket`), whatever else is
 * wrong with it: the engine's checks answer that.
 */
export function isWebSocketUpgrade(head: RequestHead): boolean {
  let upgrade = false;
  let connection = false;
  for (const [name, value] of head.fields) {
    const lower = name.toLowerCase();
    if (lower === "upgrade") upgrade ||= hasToken(value, "websocket");
    else if (lower === "connection") connection ||= hasToken(value, "upgrade");
  }
  return upgrade && connection;
}

function startsLikePreface(bytes: Uint8Array): boolean {
  const length = Math.min(bytes.byteLength, PREFACE.byteLength);
  for (let i = 0; i < length; i++) {
    if (bytes[i] !== PREFACE[i]) return false;
  }
  return true;
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}

function refuse(socket: Socket, { status, message }: HeadError): void {
  const body = encoder.encode(`${message}\n`);
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
      "content-type: text/plain; charset=utf-8\r\n" +
      `content-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`,
  );
  socket.end(body);
}
