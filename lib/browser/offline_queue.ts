/**
 * Messages sent while the socket is not open, bounded by count and bytes.
 *
 * @module
 */

import { WebSocketError } from "../errors.ts";

/** What `WebSocket.send` accepts. */
export type BrowserSendData = string | ArrayBufferLike | ArrayBufferView | Blob;

/**
 * The size of a message in bytes: UTF-8 for text, counted without encoding.
 *
 * @example
 * ```ts
 * import { messageSize } from "@socketry/socketry/browser";
 *
 * console.log(messageSize("héllo")); // 6
 * console.log(messageSize(new Uint8Array(3))); // 3
 * ```
 */
export function messageSize(data: BrowserSendData): number {
  if (typeof data !== "string") {
    return data instanceof Blob ? data.size : data.byteLength;
  }
  let size = data.length;
  for (let i = 0; i < data.length; i++) {
    const unit = data.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) size += 1;
    else if (
      (unit & 0xfc00) === 0xd800 &&
      (data.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      size += 2; // A surrogate pair: two units, four bytes.
      i++;
    } else size += 2; // Lone surrogates are sent as U+FFFD: three bytes.
  }
  return size;
}

/**
 * A first-in first-out queue bounded by a number of messages and of bytes.
 * A push past either bound throws a `WebSocketError` with status
 * `sendQueueFull` and leaves the queue as it was: a message is never
 * dropped silently.
 *
 * @example
 * ```ts
 * import { OfflineQueue } from "@socketry/socketry/browser";
 *
 * const queue = new OfflineQueue(2, 1024);
 * queue.push("a");
 * queue.push("b");
 * try {
 *   queue.push("c");
 * } catch (error) {
 *   console.log((error as Error).message); // the offline queue is full ...
 * }
 * console.log(queue.take()); // ["a", "b"]
 * ```
 */
export class OfflineQueue {
  /** The most messages held. */
  readonly maxMessages: number;
  /** The most bytes held. */
  readonly maxBytes: number;
  #items: BrowserSendData[] = [];
  #bytes = 0;

  /** A queue holding at most `maxMessages` messages and `maxBytes` bytes. */
  constructor(maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /** How many messages are waiting. */
  get length(): number {
    return this.#items.length;
  }

  /** How many bytes are waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends `data`, or throws if that would pass a bound. */
  push(data: BrowserSendData): void {
    const size = messageSize(data);
    if (
      this.#items.length + 1 > this.maxMessages ||
      this.#bytes + size > this.maxBytes
    ) {
      throw new WebSocketError(
        `Cannot send while disconnected: the offline queue is full (${this.#items.length} of ${this.maxMessages} messages, ${this.#bytes} + ${size} of ${this.maxBytes} bytes); the message was not queued`,
        { status: "sendQueueFull" },
      );
    }
    this.#items.push(data);
    this.#bytes += size;
  }

  /** Removes and returns every waiting message, oldest first. */
  take(): BrowserSendData[] {
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return items;
  }
}
