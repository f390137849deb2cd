/**
 * A socket's statistics, counted as messages go in and out.
 *
 * @module
 */

import type { SocketStats } from "./types.ts";

// The time every count made during atOneTime() is stamped with.
let frozenNow: number | undefined;

function now(): number {
  return frozenNow ?? Date.now();
}

/**
 * Runs `run` with one reading of the clock for every count it makes: a
 * broadcast to thousands of sockets reads it once instead of once a
 * socket (a `Date.now()` a delivery was about 1% of a chat's CPU). Counts
 * made inside are stamped with the time `run` began.
 */
export function atOneTime<T>(run: () => T): T {
  if (frozenNow !== undefined) return run();
  frozenNow = Date.now();
  try {
    return run();
  } finally {
    frozenNow = undefined;
  }
}

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
    this.#openedAt = now();
  }

  /** `size` bytes were sent; `final` when they end a message. */
  sent(size: number, final: boolean): void {
    this.#bytesSent += size;
    if (final) this.#messagesSent++;
    this.#lastActivityAt = now();
  }

  /** `size` bytes were received; `final` when they end a message. */
  received(size: number, final: boolean): void {
    this.#bytesReceived += size;
    this.#lastActivityAt = now();
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
