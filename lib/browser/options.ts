/**
 * Options of the reconnecting socket: meanings, defaults and checks.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { checkKnownOptions, optionNames } from "../option_checks.ts";

/** Where to connect: a URL, or a function called before every attempt. */
export type SocketUrl =
  | string
  | URL
  | (() => string | URL | Promise<string | URL>);

/** A `WebSocket` constructor, such as the global one. */
export type WebSocketConstructor = new (
  url: string | URL,
  protocols?: string | string[],
) => WebSocket;

/** Options of {@linkcode ReconnectingSocket}. Times are in milliseconds. */
export interface ReconnectingSocketOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: string | readonly string[];
  /** How binary messages arrive. Default `"arraybuffer"`. */
  binaryType?: BinaryType;
  /** The shortest reconnect delay and the base of its growth. Default 500. */
  minDelay?: number;
  /** The longest reconnect delay. Default 20000. */
  maxDelay?: number;
  /** How long an attempt may take to open before it is abandoned. Default 5000. */
  connectTimeout?: number;
  /**
   * How long a connection must stay open for the backoff to start over;
   * a connection dropped sooner continues the growing delays, so a server
   * that accepts and closes at once is not hammered. Default 5000.
   */
  minUptime?: number;
  /** Retries since the last stable connection before giving up. Default `Infinity`. */
  maxRetries?: number;
  /** Do not connect until `open()` is called. Default `false`. */
  startClosed?: boolean;
  /**
   * Quiet time after which the client sends a heartbeat (see
   * {@linkcode HEARTBEAT_PING}). Default 25000; 0 turns heartbeats off.
   */
  heartbeatInterval?: number;
  /** How long a heartbeat may go unanswered. Default 10000. */
  heartbeatTimeout?: number;
  /** The most messages queued while disconnected. Default 100. */
  maxQueuedMessages?: number;
  /** The most bytes queued while disconnected. Default 1048576 (1 MiB). */
  maxQueuedBytes?: number;
  /** The `WebSocket` to use. Default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Time and timers. Default {@linkcode systemClock}; tests pass their own. */
  clock?: Clock;
  /** Numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

/** Options with every default filled in. */
export type ResolvedOptions =
  & Required<Omit<ReconnectingSocketOptions, "protocols">>
  & {
    readonly protocols: string[];
  };

const NUMBERS = {
  minDelay: 500,
  maxDelay: 20_000,
  connectTimeout: 5000,
  minUptime: 5000,
  maxRetries: Infinity,
  heartbeatInterval: 25_000,
  heartbeatTimeout: 10_000,
  maxQueuedMessages: 100,
  maxQueuedBytes: 1024 * 1024,
};

const OPTIONS = optionNames<keyof ReconnectingSocketOptions>({
  ...NUMBERS,
  protocols: true,
  binaryType: true,
  startClosed: true,
  WebSocket: true,
  clock: true,
  random: true,
});

/**
 * Fills in defaults and checks the numbers, throwing `RangeError` naming
 * the option at fault (`TypeError` for a name that is no option).
 *
 * @example
 * ```ts
 * import { resolveReconnectingOptions } from "@socketry/socketry/browser";
 *
 * console.log(resolveReconnectingOptions({}).maxDelay); // 20000
 * ```
 */
export function resolveReconnectingOptions(
  options: ReconnectingSocketOptions,
): ResolvedOptions {
  checkKnownOptions(Object.keys(options), OPTIONS);
  const numbers = { ...NUMBERS };
  for (const name of Object.keys(NUMBERS) as (keyof typeof NUMBERS)[]) {
    const value = options[name] ?? NUMBERS[name];
    if (typeof value !== "number" || !(value >= 0)) {
      throw new RangeError(`${name} must be a number >= 0, got ${value}`);
    }
    numbers[name] = value;
  }
  if (numbers.maxDelay < numbers.minDelay) {
    throw new RangeError(
      `maxDelay (${numbers.maxDelay}) must be at least minDelay (${numbers.minDelay})`,
    );
  }
  const protocols = options.protocols ?? [];
  return {
    ...numbers,
    protocols: typeof protocols === "string" ? [protocols] : [...protocols],
    binaryType: options.binaryType ?? "arraybuffer",
    startClosed: options.startClosed ?? false,
    WebSocket: options.WebSocket ?? globalThis.WebSocket,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}
