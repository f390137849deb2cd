/**
 * A socket's statistics, counted as messages go in and out.
 *
 * @module
 */

import type { SocketStats } from "./types.ts";

/** The counters behind a socket's `stats`. */
export class Counters {
  #bytesSent = 0;
  #bytesReceived = 0;
  #messagesSent = 0;
  #messagesReceived = 0;
  #openedAt: number | undefined;
  #lastActivityAt: number | undefined;

  /** The socket opened now. */
  opened(): void {
    this.#openedAt = Date.now();
  }

  /** `size` bytes were sent; `final` when they end a message. */
  sent(size: number, final: boolean): void {
    this.#bytesSent += size;
    if (final) this.#messagesSent++;
    this.#lastActivityAt = Date.now();
  }

  /** `size` bytes were received; `final` when they end a message. */
  received(size: number, final: boolean): void {
    this.#bytesReceived += size;
    this.#lastActivityAt = Date.now();
    if (final) this.#messagesReceived++;
  }

  /** A snapshot of the counters. */
  snapshot(): SocketStats {
    return {
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      messagesSent: this.#messagesSent,
      messagesReceived: this.#messagesReceived,
      openedAt: this.#openedAt,
      lastActivityAt: this.#lastActivityAt,
    };
  }
}
