/**
 * Per-socket rate limits on what a client sends: messages and payload
 * bytes per second, each a token bucket, enforced by closing with 1008 or
 * by dropping whole messages.
 *
 * @module
 */

import type { ServerMetrics } from "../metrics/server_metrics.ts";
import type { MessageType, Socket } from "../socket/mod.ts";
import { utf8ByteLength } from "../utf8_length.ts";
import type { ResolvedLimits } from "./limits.ts";
import { TokenBucket } from "./token_bucket.ts";

/** The rate limits of one socket. */
export class RateLimiter {
  readonly #messages: TokenBucket | undefined;
  readonly #bytes: TokenBucket | undefined;
  readonly #limits: ResolvedLimits;
  readonly #metrics: ServerMetrics | undefined;

  constructor(limits: ResolvedLimits, metrics: ServerMetrics | undefined) {
    const burst = limits.burstSeconds;
    const { messagesPerSecond: messages, bytesPerSecond: bytes } = limits;
    this.#messages = Number.isFinite(messages)
      ? new TokenBucket(messages, Math.max(1, messages * burst))
      : undefined;
    this.#bytes = Number.isFinite(bytes)
      ? new TokenBucket(bytes, bytes * burst)
      : undefined;
    this.#limits = limits;
    this.#metrics = metrics;
  }

  /** Whether any rate is limited. */
  static needed(limits: ResolvedLimits): boolean {
    return Number.isFinite(limits.messagesPerSecond) ||
      Number.isFinite(limits.bytesPerSecond);
  }

  /** The policy for a socket over a rate. */
  get policy(): "close" | "drop" {
    return this.#limits.rateLimitPolicy;
  }

  /**
   * Charges the first piece of a message; returns the close reason of the
   * limit it broke, or `undefined`.
   */
  start(bytes: number): string | undefined {
    if (this.#messages !== undefined && !this.#messages.take(1)) {
      return this.#hit(
        "messages_per_second",
        `Rate limit: more than ${this.#limits.messagesPerSecond} messages per second`,
      );
    }
    if (this.#bytes !== undefined && this.#bytes.tokens <= 0) {
      return this.#bytesHit();
    }
    return this.more(bytes);
  }

  /** Charges a later piece of a message; returns a reason like `start`. */
  more(bytes: number): string | undefined {
    if (this.#bytes === undefined) return undefined;
    const left = this.#bytes.spend(bytes);
    // Dropping decides per message; closing at once stops a huge one.
    return left < 0 && this.policy === "close" ? this.#bytesHit() : undefined;
  }

  #bytesHit(): string {
    return this.#hit(
      "bytes_per_second",
      `Rate limit: more than ${this.#limits.bytesPerSecond} bytes per second`,
    );
  }

  #hit(
    limit: "messages_per_second" | "bytes_per_second",
    reason: string,
  ): string {
    this.#metrics?.limitHit(limit);
    if (this.policy === "drop") this.#metrics?.messageDropped();
    return reason;
  }
}

const limiters = new WeakMap<Socket, RateLimiter>();

/** Puts `socket` (of a class from {@linkcode rateLimited}) under `limiter`. */
export function limitRates(socket: Socket, limiter: RateLimiter): void {
  limiters.set(socket, limiter);
}

/**
 * The constructor of a backend's socket; `any[]` is what TypeScript
 * requires of a class that a mixin extends.
 */
// deno-lint-ignore no-explicit-any
type SocketClass = new (...args: any[]) => Socket;

const classes = new WeakMap<SocketClass, SocketClass>();

/**
 * The class of `Base` whose sockets honour the limiter given to
 * {@linkcode limitRates} (one class per base, made once).
 */
export function rateLimited<T extends SocketClass>(Base: T): T {
  const made = classes.get(Base);
  if (made !== undefined) return made as T;
  abstract class RateLimited extends Base {
    /** Inside a message: `"pass"` or `"drop"`; between messages: undefined. */
    #message: "pass" | "drop" | undefined;
    #over = false;
    /** Reading is held back after the close frame went out (see #closeOver). */
    #holding = false;

    // While holding, the socket reports itself full, so that a backend that
    // can pause reading (the engine) does.
    protected override get bufferedIncoming(): number {
      return this.#holding ? Infinity : super.bufferedIncoming;
    }

    protected override get completeMessagesQueued(): number {
      return this.#holding ? 1 : super.completeMessagesQueued;
    }

    protected override handleData(
      type: MessageType,
      payload: string | Uint8Array,
      final: boolean,
      hold?: () => () => void,
    ): void {
      const limiter = limiters.get(this);
      if (limiter === undefined) {
        return super.handleData(type, payload, final, hold);
      }
      // What arrives after the close frame went out is read and discarded.
      if (this.#over) return;
      const bytes = typeof payload === "string"
        ? utf8ByteLength(payload)
        : payload.byteLength;
      const starting = this.#message === undefined;
      const broken = starting ? limiter.start(bytes) : limiter.more(bytes);
      if (starting) {
        this.#message = broken !== undefined && limiter.policy === "drop"
          ? "drop"
          : "pass";
      }
      const dropping = this.#message === "drop";
      if (final) this.#message = undefined;
      if (dropping) return;
      if (broken !== undefined && limiter.policy === "close") {
        this.#closeOver(broken);
        return;
      }
      super.handleData(type, payload, final, hold);
    }

    /**
     * Closes with 1008 and stops reading for four fifths of the close
     * timeout. A flooding client often sends without ever yielding to read
     * (python-websockets' `await send()` returns at once until its writes
     * block); with this side not reading, its writes block and it reads the
     * close frame. Reading then resumes, discarding, until its close reply
     * arrives (or the close timeout ends the socket). Kept reading instead,
     * such a client never read the frame and saw 1006.
     */
    #closeOver(reason: string): void {
      this.#over = true;
      this.#holding = true;
      void this.close(1008, reason);
      const timer = setTimeout(() => {
        this.#holding = false;
        this.onIncomingTaken();
      }, Math.min(this.options.closeTimeout * 0.8, 2 ** 31 - 1));
      this.closed.then(() => clearTimeout(timer));
    }
  }
  classes.set(Base, RateLimited as unknown as SocketClass);
  // Abstract only to the type checker: Base is concrete, and so is this.
  return RateLimited as unknown as T;
}
