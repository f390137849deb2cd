/**
 * Admission before the upgrade: the connection limits, the `authorize`
 * check and the metrics, for the middleware and the engine listener alike.
 * Nothing here creates a socket; a refused handshake never becomes one.
 *
 * @module
 */

import type {
  RefusalReason,
  ServerMetrics,
} from "../metrics/server_metrics.ts";
import type { Socket } from "../socket/mod.ts";
import {
  AddressCounts,
  clientAddress,
  type LimitsOptions,
  type ResolvedLimits,
  resolveLimits,
} from "./limits.ts";
import { limitRates, rateLimited, RateLimiter } from "./rate_limited_socket.ts";

/** What the `authorize` check learns besides the request. */
export interface AuthorizeInfo {
  /**
   * The client's address (without port): the TCP peer, or the address your
   * proxies forwarded when `limits.trustedProxies` says to believe them.
   */
  readonly clientAddress: string | undefined;
}

/**
 * Decides whether a handshake may become a socket. Return a `Response` to
 * refuse with it (401, 403, …: whatever it is, no socket is created), or
 * any other value to accept: it becomes the socket's `data`. May be async;
 * a throw or rejection answers 500 and is reported to `onError`.
 */
export type Authorize<Data> = (
  request: Request,
  info: AuthorizeInfo,
) => Data | Response | Promise<Data | Response>;

/** The server options that admit or refuse a handshake before the upgrade. */
export interface AdmissionOptions<Data = unknown> {
  /**
   * Runs after the handshake, origin and connection-limit checks, before
   * any socket exists. What it returns (other than a `Response`) is the
   * socket's `data`, typed in your socket handler.
   */
  authorize?: Authorize<Data>;
  /** Rate and connection limits; each is off unless set. */
  limits?: LimitsOptions;
  /** Counts handshakes, sockets, traffic, closes and limit hits into these. */
  metrics?: ServerMetrics;
}

/** An admitted handshake: attach its socket, or release it if none came. */
export interface Ticket {
  /** Gives `socket` its data and limits and counts it until it ends. */
  attach(socket: Socket): void;
  /** Gives back the connection slots when no socket was made after all. */
  release(): void;
}

/** Admission of one server. */
export class Admission {
  readonly #authorize: Authorize<unknown> | undefined;
  readonly #limits: ResolvedLimits;
  readonly #metrics: ServerMetrics | undefined;
  readonly #onError: (error: unknown, request: Request) => void;
  readonly #addresses = new AddressCounts();
  readonly #rates: boolean;
  #open = 0;

  /** Admission for `options`, or `undefined` when none of them is set. */
  static create(
    // Spelled out: without exactOptionalPropertyTypes (a user's default),
    // a mapped type with -? would drop the undefined these may be.
    options: {
      readonly authorize: Authorize<unknown> | undefined;
      readonly limits: LimitsOptions | undefined;
      readonly metrics: ServerMetrics | undefined;
    },
    onError: (error: unknown, request: Request) => void,
  ): Admission | undefined {
    const { authorize, limits, metrics } = options;
    if (
      authorize === undefined && limits === undefined && metrics === undefined
    ) {
      return undefined;
    }
    if (authorize !== undefined && typeof authorize !== "function") {
      throw new TypeError("authorize must be a function");
    }
    return new Admission(authorize, resolveLimits(limits), metrics, onError);
  }

  private constructor(
    authorize: Authorize<unknown> | undefined,
    limits: ResolvedLimits,
    metrics: ServerMetrics | undefined,
    onError: (error: unknown, request: Request) => void,
  ) {
    this.#authorize = authorize;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#onError = onError;
    this.#rates = RateLimiter.needed(limits);
  }

  /** The socket class to construct: `Base`, or its rate-limited kind. */
  socketClass<T extends new (...args: never[]) => Socket>(Base: T): T {
    return this.#rates
      ? rateLimited(Base as unknown as new () => Socket) as unknown as T
      : Base;
  }

  /** Counts a refusal of the handshake checks (400, 403, 404, 426). */
  refusedByChecks(status: number): void {
    this.#metrics?.refused(status === 403 ? "origin" : "handshake", status);
  }

  /**
   * Applies the server limit (503), the per-address limit (429) and
   * `authorize`, in that order. Resolves with the refusal to send or a
   * ticket holding the connection slots; never rejects.
   */
  async admit(request: Request, peer: string | undefined): Promise<
    Ticket | Response
  > {
    const limits = this.#limits;
    const address = clientAddress(request, peer, limits.trustedProxies);
    if (this.#open >= limits.maxConnections) {
      this.#metrics?.limitHit("connections");
      return this.#refuse("server_limit", 503, "Too many connections", {
        "retry-after": String(limits.retryAfter),
      });
    }
    const key = address ?? "";
    if (this.#addresses.get(key) >= limits.connectionsPerAddress) {
      this.#metrics?.limitHit("connections_per_address");
      return this.#refuse(
        "address_limit",
        429,
        `Too many connections from ${address ?? "this address"}`,
      );
    }
    this.#open++;
    this.#addresses.add(key);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#open--;
      this.#addresses.remove(key);
    };
    let data: unknown;
    if (this.#authorize !== undefined) {
      try {
        data = await this.#authorize(request, { clientAddress: address });
      } catch (error) {
        release();
        this.#onError(error, request);
        return this.#refuse("authorize_error", 500, "Internal Server Error");
      }
      if (data instanceof Response) {
        release();
        this.#metrics?.refused("authorize", data.status);
        return data;
      }
    }
    return {
      attach: (socket) => {
        socket.data = data;
        if (this.#rates) {
          limitRates(socket, new RateLimiter(this.#limits, this.#metrics));
        }
        this.#metrics?.track(socket);
        socket.closed.then(release);
      },
      release,
    };
  }

  #refuse(
    reason: RefusalReason,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ): Response {
    this.#metrics?.refused(reason, status);
    return new Response(`${message}\n`, {
      status,
      headers: { "content-type": "text/plain; charset=utf-8", ...headers },
    });
  }
}

/**
 * Runs `open` once `admission` (if any) lets the handshake in, `refused`
 * with its refusal otherwise; a connection gone meanwhile gives its slots
 * back. `peer` is asked only when there is an admission to ask: reading a
 * socket's address is a call into the runtime.
 */
export function whenAdmitted(
  admission: Admission | undefined,
  request: Request,
  peer: () => string | undefined,
  gone: () => boolean,
  refused: (response: Response) => void,
  open: (ticket: Ticket | undefined) => void,
): void {
  if (admission === undefined) return open(undefined);
  admission.admit(request, peer()).then((ticket) => {
    if (ticket instanceof Response) return refused(ticket);
    if (gone()) return ticket.release();
    open(ticket);
  });
}
