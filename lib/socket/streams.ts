/**
 * A socket as a pair of web streams, as Deno's `WebSocketStream` offers:
 * `readable` gives each message received as one chunk, `writable` sends
 * each chunk written as one message. Both apply backpressure.
 *
 * @module
 */

import { WebSocketError } from "../errors.ts";
import { isValidCloseCode } from "../protocol/close_codes.ts";
import { closeReasonFor, endedError } from "./ending.ts";
import type { Socket } from "./socket.ts";
import type { MessageData, SendData } from "./types.ts";

/** The stream behind `Socket.readable`: `peerClosed` says whether the peer's close came. */
export function messageReadable(
  socket: Socket,
  peerClosed: () => boolean,
): ReadableStream<MessageData> {
  let messages: AsyncGenerator<MessageData, void, void> | undefined;
  return new ReadableStream<MessageData>({
    async pull(controller) {
      messages ??= socket.messages();
      const { value, done } = await messages.next();
      if (!done) controller.enqueue(value);
      else if (peerClosed()) controller.close();
      else controller.error(endedError("readable", await socket.closed));
    },
    cancel(reason) {
      const rest = messages ?? socket.messages();
      // Read on so that the peer's close frame is not stuck behind data.
      (async () => {
        for await (const _ of rest);
      })().catch(() => {});
      return closeWith(socket, reason);
    },
  }, { highWaterMark: 0 });
}

/** The stream behind `Socket.writable`. */
export function messageWritable(socket: Socket): WritableStream<SendData> {
  return new WritableStream<SendData>({
    write(chunk) {
      return socket.send(chunk);
    },
    close() {
      return socket.closeOutput(1000);
    },
    abort(reason) {
      return closeWith(socket, reason);
    },
  });
}

/**
 * The close code for a stream cancelled or aborted with `reason`: 1000
 * without a reason, the error's own `code` for a `WebSocketError` that has
 * one a close frame may carry, 1011 (an unexpected condition) otherwise.
 */
function closeCodeFor(reason: unknown): number {
  if (reason === undefined) return 1000;
  if (
    reason instanceof WebSocketError && reason.code !== undefined &&
    isValidCloseCode(reason.code)
  ) return reason.code;
  return 1011;
}

function closeWith(socket: Socket, reason: unknown): Promise<void> {
  const code = closeCodeFor(reason);
  return socket.closeOutput(
    code,
    reason instanceof WebSocketError && code === reason.code
      ? closeReasonFor(reason)
      : "",
  );
}
