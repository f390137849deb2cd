/**
 * Limits against abuse: messages and bytes per second per socket,
 * concurrent connections per client address and per server, and how the
 * client's address is found behind proxies.
 *
 * @module
 */

/**
 * What a socket over its rate limit gets: `close` closes it with 1008 and a
 * reason naming the limit; `drop` discards the messages over the limit
 * (counted as `socketry_messages_dropped_total`) and keeps the socket.
 */
export type RateLimitPolicy = "close" | "drop";

/** The `limits` server option. Every limit is off unless set. */
export interface LimitsOptions {
  /** Messages a socket may send per second, on average. */
  messagesPerSecond?: number;
  /** Payload bytes a socket may send per second, on average. */
  bytesPerSecond?: number;
  /**
   * How far a socket may run ahead of its rates at once, in seconds of
   * its rate. Default 1: a second's worth of messages and bytes.
   */
  burstSeconds?: number;
  /** What a socket over a rate gets. Default `"close"`. */
  rateLimitPolicy?: RateLimitPolicy;
  /**
   * Sockets one client address may hold open; past it the handshake gets
   * 429 before any socket exists.
   */
  connectionsPerAddress?: number;
  /**
   * Sockets the server holds open in all; past it the handshake gets 503
   * with `Retry-After`.
   */
  maxConnections?: number;
  /** The `Retry-After` of that 503, in seconds. Default 5. */
  retryAfter?: number;
  /**
   * How many proxies in front of this server to believe: with 1, the
   * client is the last address in `Forwarded` (or, without it,
   * `X-Forwarded-For`), as your proxy appended it; with 2, the one before
   * that; and so on. Default 0: the headers are ignored and the client is
   * the TCP peer, since any client can write them.
   */
  trustedProxies?: number;
}

/** Limits with defaults filled in and checked. */
export interface ResolvedLimits {
  readonly messagesPerSecond: number;
  readonly bytesPerSecond: number;
  readonly burstSeconds: number;
  readonly rateLimitPolicy: RateLimitPolicy;
  readonly connectionsPerAddress: number;
  readonly maxConnections: number;
  readonly retryAfter: number;
  readonly trustedProxies: number;
}

/** Checks the `limits` option, throwing `RangeError` naming the one at fault. */
export function resolveLimits(options: LimitsOptions = {}): ResolvedLimits {
  const {
    messagesPerSecond = Infinity,
    bytesPerSecond = Infinity,
    burstSeconds = 1,
    rateLimitPolicy = "close",
    connectionsPerAddress = Infinity,
    maxConnections = Infinity,
    retryAfter = 5,
    trustedProxies = 0,
  } = options;
  for (
    const [name, value] of Object.entries({
      messagesPerSecond,
      bytesPerSecond,
      burstSeconds,
      connectionsPerAddress,
      maxConnections,
    })
  ) {
    if (typeof value !== "number" || !(value > 0)) {
      throw new RangeError(`limits.${name} must be a number > 0, got ${value}`);
    }
  }
  for (const [name, value] of Object.entries({ retryAfter, trustedProxies })) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(
        `limits.${name} must be an integer >= 0, got ${value}`,
      );
    }
  }
  if (rateLimitPolicy !== "close" && rateLimitPolicy !== "drop") {
    throw new TypeError(
      `limits.rateLimitPolicy must be "close" or "drop", got ${rateLimitPolicy}`,
    );
  }
  return {
    messagesPerSecond,
    bytesPerSecond,
    burstSeconds,
    rateLimitPolicy,
    connectionsPerAddress,
    maxConnections,
    retryAfter,
    trustedProxies,
  };
}

/**
 * The client's address: the TCP peer, or with `trustedProxies` above 0 the
 * address that many hops back in `Forwarded` (`for=`) or, without it,
 * `X-Forwarded-For`. A list shorter than that gives its first address.
 */
export function clientAddress(
  request: Request,
  peer: string | undefined,
  trustedProxies: number,
): string | undefined {
  if (trustedProxies === 0) return peer;
  const forwarded = request.headers.get("forwarded");
  const hops = forwarded !== null
    ? forwardedFor(forwarded)
    : (request.headers.get("x-forwarded-for") ?? "").split(",").map((item) =>
      item.trim()
    ).filter((item) => item !== "");
  if (hops.length === 0) return peer;
  return hops[Math.max(0, hops.length - trustedProxies)];
}

/** The `for=` addresses of a `Forwarded` field (RFC 7239), in order. */
function forwardedFor(field: string): string[] {
  const addresses: string[] = [];
  for (const element of field.split(",")) {
    for (const pair of element.split(";")) {
      const equals = pair.indexOf("=");
      if (pair.slice(0, equals).trim().toLowerCase() !== "for") continue;
      let value = pair.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1");
      // "[2001:db8::1]:4711" and "192.0.2.1:4711" name the host without the port.
      if (value.startsWith("[")) value = value.slice(1, value.indexOf("]"));
      else if (value.split(":").length === 2) value = value.split(":")[0]!;
      addresses.push(value);
    }
  }
  return addresses;
}

/** Open connections per client address, for the per-address limit. */
export class AddressCounts {
  readonly #counts = new Map<string, number>();

  /** Open connections of `address`. */
  get(address: string): number {
    return this.#counts.get(address) ?? 0;
  }

  /** Counts one more connection of `address`. */
  add(address: string): void {
    this.#counts.set(address, this.get(address) + 1);
  }

  /** Counts one connection of `address` fewer. */
  remove(address: string): void {
    const count = this.get(address) - 1;
    if (count <= 0) this.#counts.delete(address);
    else this.#counts.set(address, count);
  }
}
