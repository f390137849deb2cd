/**
 * The keep-alive strategies and the silence limit, as one deadline per
 * connection on the process's shared timer:
 * - interval 0 or `Infinity`: off;
 * - interval set, timeout `Infinity`: an unsolicited PONG every interval;
 * - both set: once the interval passes without traffic, a PING carrying a
 *   token; no PONG with that token within the timeout is a keep-alive timeout;
 * - silence limit set: no frame at all for that long is a disconnect.
 *
 * @module
 */

import { Deadline, deadlines } from "./deadlines.ts";

/** What the keep-alive timer does to its connection. */
export interface KeepAliveActions {
  /** Sends a PING with this payload. */
  ping(payload: Uint8Array): void;
  /** Sends an unsolicited PONG. */
  pong(): void;
  /** No matching PONG arrived in time. */
  timedOut(): void;
  /** Nothing arrived for the silence limit. */
  silent(): void;
}

/** Keep-alive settings in milliseconds; 0 or `Infinity` turns one off. */
export interface KeepAliveSettings {
  /** How long without traffic (or, with no timeout, between PONGs) before acting. */
  readonly interval: number;
  /** How long a PING waits for its PONG; off means unsolicited PONGs instead. */
  readonly timeout: number;
  /** How long without any frame before the connection counts as gone. */
  readonly silenceLimit: number;
}

const on = (ms: number) => ms > 0 && Number.isFinite(ms);

/** A connection's keep-alive timer. Call `received()` for every frame that arrives. */
export class KeepAlive {
  // Its entry in the shared deadlines; reaching #check from there through a
  // class in this body costs one small object, not a closure and its context.
  static readonly #Due = class extends Deadline {
    readonly #keepAlive: KeepAlive;
    constructor(keepAlive: KeepAlive) {
      super();
      this.#keepAlive = keepAlive;
    }
    expire(): void {
      this.#keepAlive.#check();
    }
  };

  readonly #settings: KeepAliveSettings;
  readonly #actions: KeepAliveActions;
  #lastReceived = Date.now();
  #lastPong = Date.now();
  #pending: { token: number; sentAt: number } | undefined;
  #nextToken = 1;
  #due: Deadline | undefined;
  #stopped = false;

  /** Starts the timer, if any strategy is on. */
  constructor(settings: KeepAliveSettings, actions: KeepAliveActions) {
    this.#settings = settings;
    this.#actions = actions;
    this.#schedule();
  }

  /** Whether any strategy is on. */
  get active(): boolean {
    const { interval, silenceLimit } = this.#settings;
    return !this.#stopped && (on(interval) || on(silenceLimit));
  }

  /** A frame arrived: traffic resets the idle clock. */
  received(): void {
    this.#lastReceived = Date.now();
  }

  /** A PONG arrived with `payload`: it answers the pending PING if the token matches. */
  ponged(payload: Uint8Array): void {
    const pending = this.#pending;
    if (pending === undefined || payload.byteLength !== 4) return;
    const token = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(
      0,
    );
    if (token === pending.token) this.#pending = undefined;
  }

  /** Stops the timer for good. */
  stop(): void {
    this.#stopped = true;
    if (this.#due !== undefined) deadlines.cancel(this.#due);
  }

  // Traffic does not move the deadline: #check looks at the clocks when it
  // comes and schedules the next one.
  #schedule(): void {
    if (!this.active) return;
    deadlines.schedule(
      this.#due ??= new KeepAlive.#Due(this),
      this.#nextDeadline(),
    );
  }

  // The earliest of the strategies' next times, without an array: this runs
  // once per connection as it opens.
  #nextDeadline(): number {
    const { interval, timeout, silenceLimit } = this.#settings;
    let next = on(silenceLimit) ? this.#lastReceived + silenceLimit : Infinity;
    if (on(interval)) {
      const at = !on(timeout)
        ? this.#lastPong + interval
        : this.#pending !== undefined
        ? this.#pending.sentAt + timeout
        : this.#lastReceived + interval;
      if (at < next) next = at;
    }
    return next;
  }

  #check(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const { interval, timeout, silenceLimit } = this.#settings;
    if (on(silenceLimit) && now - this.#lastReceived >= silenceLimit) {
      this.stop();
      this.#actions.silent();
      return;
    }
    if (on(interval)) {
      if (!on(timeout)) {
        if (now - this.#lastPong >= interval) {
          this.#lastPong = now;
          this.#actions.pong();
        }
      } else if (this.#pending !== undefined) {
        if (now - this.#pending.sentAt >= timeout) {
          this.stop();
          this.#actions.timedOut();
          return;
        }
      } else if (now - this.#lastReceived >= interval) {
        const token = this.#nextToken++ >>> 0;
        this.#pending = { token, sentAt: now };
        const payload = new Uint8Array(4);
        new DataView(payload.buffer).setUint32(0, token);
        this.#actions.ping(payload);
      }
    }
    this.#schedule();
  }
}
