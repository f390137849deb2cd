/**
 * The events of the reconnecting socket besides `open` and `message`.
 *
 * @module
 */

/**
 * Dispatched as `connecting` when an attempt starts.
 *
 * @example
 * ```ts
 * import { ConnectingEvent } from "@socketry/socketry/browser";
 *
 * const event = new ConnectingEvent(0);
 * console.log(event.type, event.attempt); // connecting 0
 * ```
 */
export class ConnectingEvent extends Event {
  /** 0 for the first connection, then the retry number since the last stable connection. */
  readonly attempt: number;

  /** An event for attempt number `attempt`. */
  constructor(attempt: number) {
    super("connecting");
    this.attempt = attempt;
  }
}

/**
 * Dispatched as `reconnecting` when a connection or an attempt was lost and
 * the next attempt is scheduled: which retry it will be, in how many
 * milliseconds, and how the last one ended.
 *
 * @example
 * ```ts
 * import { ReconnectingEvent } from "@socketry/socketry/browser";
 *
 * const event = new ReconnectingEvent(1, 730, 1006, "connect timeout");
 * console.log(`retry ${event.attempt} in ${event.delay} ms`);
 * ```
 */
export class ReconnectingEvent extends Event {
  /** The retry number: 1 for the first retry since the last stable connection. */
  readonly attempt: number;
  /** Milliseconds until the attempt. */
  readonly delay: number;
  /** The close code of what ended (1006 when the connection failed or was dropped here). */
  readonly code: number;
  /** Why it ended, as the server or the client said. */
  readonly reason: string;

  /** An event for retry `attempt` after `delay` ms. */
  constructor(attempt: number, delay: number, code: number, reason: string) {
    super("reconnecting");
    this.attempt = attempt;
    this.delay = delay;
    this.code = code;
    this.reason = reason;
  }
}

/**
 * Dispatched as `closed` once the socket has stopped for good: closed by
 * `close()`, by a server close code that means "do not come back" (1008,
 * 4000–4999), after `maxRetries`, or for a URL the browser rejects.
 *
 * @example
 * ```ts
 * import { ClosedEvent } from "@socketry/socketry/browser";
 *
 * const event = new ClosedEvent(1000, "bye", true, 0);
 * console.log(event.code, event.reason, event.wasClean, event.unsent);
 * ```
 */
export class ClosedEvent extends Event {
  /** The close code. */
  readonly code: number;
  /** The close reason, or why the client stopped. */
  readonly reason: string;
  /** Whether the last connection ended with a close handshake. */
  readonly wasClean: boolean;
  /** Queued messages that were never sent and are now discarded. */
  readonly unsent: number;

  /** An event for a socket that stopped with `code` and `reason`. */
  constructor(code: number, reason: string, wasClean: boolean, unsent: number) {
    super("closed");
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
    this.unsent = unsent;
  }
}
