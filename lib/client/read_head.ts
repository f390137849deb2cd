/**
 * Reads an HTTP/1.1 response head (status line and headers) from a
 * `node:net` socket, for the proxy tunnel and the opening handshake.
 *
 * @module
 */

import type { Socket as NetSocket } from "node:net";
import { concatBytes } from "../bytes.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { ReadBuffers } from "../engine/read_buffers.ts";

/** A parsed response head and the bytes that followed it. */
export interface ResponseHead {
  /** The status code, or `NaN` when the status line is malformed. */
  readonly status: number;
  /** The status line without `HTTP/1.1 `, for messages. */
  readonly statusText: string;
  /** The response headers. */
  readonly headers: Headers;
  /** Bytes received after the head (the start of the connection's data). */
  readonly rest: Uint8Array;
}

const decoder = new TextDecoder();

/**
 * Resolves with the head once `\r\n\r\n` arrived, leaving the socket paused
 * with no data listener; rejects when the socket ends first or the head
 * exceeds `limit` bytes. Reads through the socket's {@linkcode ReadBuffers}
 * when it lends its reads.
 */
export function readResponseHead(
  socket: NetSocket,
  limit: number,
  what: string,
): Promise<ResponseHead> {
  return new Promise((resolve, reject) => {
    let received: Uint8Array = new Uint8Array(0);
    const buffers = ReadBuffers.of(socket);
    const cleanup = () => {
      if (buffers === undefined) socket.off("data", onData);
      else buffers.listen(undefined);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
    };
    const fail = (error: unknown) => {
      cleanup();
      reject(error);
    };
    const onEnd = () =>
      fail(
        new WebSocketError(`The connection closed during ${what}`, {
          status: WebSocketStatus.HandshakeRejected,
        }),
      );
    const onError = (error: Error) => fail(error);
    // Copies what it keeps: a lent chunk is overwritten by the next read.
    const onData = (chunk: Uint8Array) => {
      received = concatBytes([received, chunk]);
      const end = findHeadEnd(received);
      if (end === -1) {
        if (received.byteLength > limit) {
          fail(
            new WebSocketError(
              `The response head of ${what} exceeds ${limit} bytes`,
              { status: WebSocketStatus.HandshakeRejected },
            ),
          );
        }
        return;
      }
      socket.pause();
      cleanup();
      resolve(
        parseHead(
          decoder.decode(received.subarray(0, end)),
          received.slice(end + 4),
        ),
      );
    };
    if (buffers === undefined) socket.on("data", onData);
    else buffers.listen(onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
    socket.resume();
  });
}

function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.byteLength; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) {
      return i;
    }
  }
  return -1;
}

function parseHead(head: string, rest: Uint8Array): ResponseHead {
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      // A header Headers refuses cannot matter to the checks made on it.
    }
  }
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  return {
    status: match === null ? NaN : Number(match[1]),
    statusText: statusLine.slice(9) || "?",
    headers,
    rest,
  };
}
