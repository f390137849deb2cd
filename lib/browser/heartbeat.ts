/**
 * Application-level heartbeats: a browser cannot send WebSocket pings, so
 * the client sends a reserved text message when the line has been quiet.
 *
 * The wire format: the client sends a text message of exactly
 * {@linkcode HEARTBEAT_PING} (`"\u0000socketry:ping"`, 14 bytes); a socketry
 * server with `heartbeat: true` answers with a text message of exactly
 * {@linkcode HEARTBEAT_PONG} (`"\u0000socketry:pong"`) and does not hand the
 * ping to the application. The leading NUL keeps them apart from any JSON
 * or plain-text message an application sends. The client never delivers
 * either string to its own listeners.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/**
 * The heartbeat the client sends: a text message of exactly this string.
 *
 * @example
 * ```ts
 * import { HEARTBEAT_PING } from "@socketry/socketry/browser";
 *
 * console.log(JSON.stringify(HEARTBEAT_PING)); // "\u0000socketry:ping"
 * ```
 */
export const HEARTBEAT_PING = "\u0000socketry:ping";

/**
 * The answer a socketry server sends to {@linkcode HEARTBEAT_PING}.
 *
 * @example
 * ```ts
 * import { HEARTBEAT_PONG } from "@socketry/socketry/browser";
 *
 * console.log(HEARTBEAT_PONG.length); // 14
 * ```
 */
export const HEARTBEAT_PONG = "\u0000socketry:pong";

/** What the heartbeat does with a connection. */
export interface HeartbeatActions {
  /** Sends {@linkcode HEARTBEAT_PING}. */
  ping(): void;
  /** The connection is dead: drop it. */
  dead(): void;
}

/**
 * The heartbeat of one reconnecting socket. On each new connection it sends
 * a first heartbeat at once, to learn whether the server answers; then one
 * whenever nothing has arrived for `interval` ms. Anything arriving proves
 * the line alive. When a heartbeat has no reply within `timeout` ms:
 *
 * - if this server has ever answered one, the connection is dead;
 * - otherwise the server does not speak heartbeats: no more are sent on this
 *   connection, and a dead line is left to the browser and to the
 *   `offline` event (silence detection only, without a false alarm).
 *
 * One timer per connection, re-armed lazily: a message arriving costs an
 * assignment, not a timer.
 *
 * @example
 * ```ts
 * import { Heartbeat, systemClock } from "@socketry/socketry/browser";
 *
 * const heartbeat = new Heartbeat(25_000, 10_000, systemClock, {
 *   ping: () => console.log("ping"),
 *   dead: () => console.log("dead"),
 * });
 * heartbeat.start(); // ping
 * heartbeat.received(true); // a pong
 * heartbeat.stop();
 * ```
 */
export class Heartbeat {
  readonly #interval: number;
  readonly #timeout: number;
  readonly #clock: Clock;
  readonly #actions: HeartbeatActions;
  #answered = false;
  #lastReceived = 0;
  #pingedAt: number | undefined;
  #timer: unknown;

  /** A heartbeat after `interval` ms of quiet, answered within `timeout` ms. */
  constructor(
    interval: number,
    timeout: number,
    clock: Clock,
    actions: HeartbeatActions,
  ) {
    this.#interval = interval;
    this.#timeout = timeout;
    this.#clock = clock;
    this.#actions = actions;
  }

  /** Whether the server has answered a heartbeat. */
  get answered(): boolean {
    return this.#answered;
  }

  /** Begins on a connection that just opened. */
  start(): void {
    this.stop();
    this.#lastReceived = this.#clock.now();
    this.#ping();
  }

  /** Notes a message from the server; `answer` when it was a pong. */
  received(answer: boolean): void {
    this.#lastReceived = this.#clock.now();
    this.#pingedAt = undefined;
    if (answer) this.#answered = true;
  }

  /** Ends with the connection. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pingedAt = undefined;
  }

  #ping(): void {
    this.#pingedAt = this.#clock.now();
    this.#actions.ping();
    this.#arm(this.#timeout);
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(this.#check, Math.max(ms, 0));
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    const pingedAt = this.#pingedAt;
    if (pingedAt !== undefined) {
      const left = pingedAt + this.#timeout - now;
      if (left > 0) return this.#arm(left);
      this.#pingedAt = undefined;
      if (this.#answered) this.#actions.dead();
      return;
    }
    const quiet = this.#lastReceived + this.#interval - now;
    if (quiet > 0) this.#arm(quiet);
    else this.#ping();
  };
}
