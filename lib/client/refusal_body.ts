/**
 * Reading the start of the body of a refused handshake (the server's
 * explanation), over an HTTP/1.1 connection or an HTTP/2 stream: at most
 * 4 KiB, and never waiting long for it.
 *
 * @module
 */

import type { ClientHttp2Stream } from "node:http2";
import type { Socket as NetSocket } from "node:net";
import { concatBytes } from "../bytes.ts";
import { ReadBuffers } from "../engine/read_buffers.ts";
import {
  bodyPrefix,
  REFUSAL_BODY_LIMIT,
} from "../protocol/client_handshake.ts";

// How long a refusal's body may take to arrive after its head.
const REFUSAL_BODY_WAIT = 2000;

/**
 * The start of a refusal's body on an HTTP/1.1 connection: what came with
 * the head, then reads until the body ends, 4 KiB are in, the connection
 * ends, or a short wait passes.
 */
export function socketBody(
  socket: NetSocket,
  rest: Uint8Array,
  headers: Headers,
): Promise<string> {
  let received = rest;
  const first = bodyPrefix(received, headers);
  if (first.complete) return Promise.resolve(first.text);
  return new Promise((resolve) => {
    const buffers = ReadBuffers.of(socket);
    const finish = () => {
      clearTimeout(timer);
      if (buffers === undefined) socket.off("data", onData);
      else buffers.listen(undefined);
      socket.off("end", finish);
      socket.off("close", finish);
      socket.off("error", finish);
      resolve(bodyPrefix(received, headers).text);
    };
    // Copies what it keeps: a lent chunk is overwritten by the next read.
    const onData = (chunk: Uint8Array) => {
      received = concatBytes([received, chunk]);
      if (
        bodyPrefix(received, headers).complete ||
        received.byteLength > 4 * REFUSAL_BODY_LIMIT
      ) finish();
    };
    const timer = setTimeout(finish, REFUSAL_BODY_WAIT);
    if (buffers === undefined) socket.on("data", onData);
    else buffers.listen(onData);
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("error", finish);
    socket.resume();
  });
}

/** The start of a refusal's body on an HTTP/2 stream. */
export function streamBody(stream: ClientHttp2Stream): Promise<string> {
  const parts: Uint8Array[] = [];
  let kept = 0;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", finish);
      stream.off("close", finish);
      stream.off("error", finish);
      resolve(new TextDecoder().decode(concatBytes(parts, kept)));
    };
    const onData = (chunk: Uint8Array) => {
      const piece = chunk.subarray(0, REFUSAL_BODY_LIMIT - kept);
      parts.push(piece);
      kept += piece.byteLength;
      if (kept >= REFUSAL_BODY_LIMIT) finish();
    };
    const timer = setTimeout(finish, REFUSAL_BODY_WAIT);
    stream.on("data", onData);
    stream.on("end", finish);
    stream.on("close", finish);
    stream.on("error", finish);
  });
}
