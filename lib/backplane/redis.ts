/**
 * The Redis backplane: processes on any number of machines share rooms
 * through Redis pub/sub (Redis 6 or later). This entry point is the only
 * module of socketry that loads a Redis client (node-redis, from npm);
 * nobody who does not import it downloads it.
 *
 * @example
 * ```ts
 * import { RedisBackplane } from "@socketry/socketry/redis";
 *
 * const backplane = new RedisBackplane({ url: "redis://127.0.0.1:6379" });
 * console.log(backplane.state); // "connecting", then "ready"
 * await backplane.close();
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createClient } from "redis";
import type {
  Backplane,
  BackplaneEvent,
  BackplaneHandler,
  BackplaneState,
  BackplaneStats,
  Publication,
} from "./backplane.ts";
import { BackplaneCore } from "./backplane_core.ts";
import { checkTarget, nameProblem, type Target, targetKey } from "./target.ts";
import { cancellable } from "../abort.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import {
  checkKnownOptions,
  checkMilliseconds,
  optionNames,
} from "../option_checks.ts";
import { Unacknowledged } from "./unacknowledged.ts";

/** Options of {@linkcode RedisBackplane}. Times are in milliseconds. */
export interface RedisBackplaneOptions {
  /** The Redis server, `redis://[[user]:password@]host[:port][/db]` or `rediss://`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Separates applications that share one Redis: channels are named
   * `socketry:PREFIX:room:NAME`, `…:socket:ID`, `…:user:ID` and `…:all`
   * (`socketry:room:NAME` and so on without a prefix). Default: none.
   */
  prefix?: string;
  /** This process's id on the backplane. Default: a random UUID. */
  id?: string;
  /** How long one connection attempt may take. Default 5000. */
  connectTimeout?: number;
  /**
   * The longest wait between reconnection attempts; they start at 50 ms
   * and double up to it. Default 1000, so that a Redis that comes back is
   * found within about a second.
   */
  maxReconnectDelay?: number;
  /**
   * How long Redis may answer nothing while publications wait, in
   * milliseconds, before the link counts as stalled (checked on a timer,
   * every quarter of it, at most every second; time this process spent
   * without reading does not count): the state goes `down` (a `state`
   * event names the stall) and `publish()` fails at once, as while Redis
   * is unreachable, until Redis answers again. The publications already
   * sent are delivered when it does. This bounds what piles up while
   * Redis is alive but not answering (a slow command, a fork, a frozen
   * process), and how long `close()` waits for it; `bench/redis_stall.ts`
   * measures it. `Infinity` turns it off. Default 5000.
   */
  stallTimeout?: number;
}

const REDIS_OPTIONS = optionNames<keyof RedisBackplaneOptions>({
  url: true,
  prefix: true,
  id: true,
  connectTimeout: true,
  maxReconnectDelay: true,
  stallTimeout: true,
});

type RedisClient = ReturnType<typeof createClient>;

/**
 * Redis's error replies to a client without the right user or password
 * (or an ACL user not allowed to publish or subscribe).
 */
const CREDENTIALS_REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/**
 * A backplane over Redis pub/sub with one connection for publishing and one
 * for subscribing. A process subscribes to a target's channel when
 * `subscribe()` is called (the processor does so when the first local
 * member of a room joins) and unsubscribes when `unsubscribe()` is.
 *
 * It connects on construction and never gives up: while Redis cannot be
 * reached, the state is `connecting` (never yet connected) or `down`, every
 * failed attempt is reported as a `state` event with the error, and
 * `publish()` fails at once (counted, `publishFailed` event) instead of
 * queueing. When Redis is back, both connections reconnect and every
 * subscription is restored without the application doing anything.
 * Messages published while Redis was unreachable are lost, as with
 * SignalR's Redis backplane: pub/sub keeps nothing for later.
 * A Redis that is alive but answers nothing for `stallTimeout` while
 * publications wait is treated the same way (state `down`, publications
 * fail at once) until it answers again.
 *
 * With no event listener attached, the start of each outage is logged with
 * `console.warn` so that it is never silent.
 *
 * @example Channel names, and the state while Redis cannot be reached
 * ```ts
 * import { RedisBackplane } from "@socketry/socketry/redis";
 *
 * const backplane = new RedisBackplane({
 *   url: "redis://127.0.0.1:1", // nothing listens there
 *   prefix: "chat",
 * });
 * backplane.onEvent((event) => console.log(event.type));
 * console.log(backplane.channel({ kind: "room", name: "lobby" }));
 * // "socketry:chat:room:lobby"
 * const lobby = { kind: "room", name: "lobby" } as const;
 * console.log(await backplane.publish({ target: lobby, data: "hi" })); // false
 * console.log(backplane.state, backplane.stats.publishFailures); // "connecting" 1
 * await backplane.close();
 * ```
 */
export class RedisBackplane implements Backplane {
  /** Resolves when both connections first become ready; rejects if closed before. */
  readonly ready: Promise<void>;
  readonly #core: BackplaneCore;
  readonly #base: string;
  readonly #url: string;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #readied = Promise.withResolvers<void>();
  readonly #listeners = new Map<string, (message: Buffer) => void>();
  // Targets whose SUBSCRIBE Redis confirmed: their echoes will come back.
  readonly #confirmed = new Set<string>();
  #pending: Promise<unknown> = Promise.resolve();
  readonly #unacknowledged = new Unacknowledged();
  readonly #stallTimeout: number;
  #stalled = false;
  // Checks for a stall on a timer, as of the previous tick: see #checkStall.
  readonly #stallCheck: ReturnType<typeof setInterval> | undefined;
  #previousTick = performance.now();
  #wasReady = false;
  #closed = false;
  #warned = false;

  /** Starts connecting to Redis; see the class documentation for failures. */
  constructor(options: RedisBackplaneOptions = {}) {
    checkKnownOptions(Object.keys(options), REDIS_OPTIONS);
    this.#core = new BackplaneCore(options.id, "connecting");
    if (options.prefix !== undefined) {
      const problem = nameProblem(options.prefix);
      if (problem !== undefined) {
        throw new WebSocketError(`The channel prefix ${problem}`, {
          status: WebSocketStatus.PolicyViolation,
        });
      }
    }
    this.#base = options.prefix === undefined
      ? "socketry"
      : `socketry:${options.prefix}`;
    const url = options.url ?? "redis://127.0.0.1:6379";
    this.#url = redact(url);
    const maxDelay = options.maxReconnectDelay ?? 1000;
    this.#stallTimeout = options.stallTimeout === undefined
      ? 5000
      : checkMilliseconds("stallTimeout", options.stallTimeout);
    if (Number.isFinite(this.#stallTimeout)) {
      const check = setInterval(
        () => this.#checkStall(),
        Math.min(1000, Math.max(10, this.#stallTimeout / 4)),
      );
      // The check never keeps a process alive by itself.
      Deno.unrefTimer(check);
      this.#stallCheck = check;
    }
    this.#pub = createClient({
      url,
      // Publications fail at once while Redis is away instead of piling up.
      disableOfflineQueue: true,
      // No deadline for a command waiting to be written: node-redis rejects
      // one after 5 s by default, which under a burst drops publications on
      // a connection that works (holes in a sender's sequence). A dead
      // connection is found by TCP keep-alive and fails them all instead.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: options.connectTimeout ?? 5000,
        reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, maxDelay),
      },
    });
    // Subscriptions made while Redis is away wait for the connection.
    this.#sub = this.#pub.duplicate({ disableOfflineQueue: false });
    this.ready = this.#readied.promise;
    this.ready.catch(() => {});
    for (const client of [this.#pub, this.#sub]) {
      client.on("error", (error: unknown) => this.#failed(error));
      client.on("ready", () => this.#update());
      client.on("reconnecting", () => this.#update());
      client.on("end", () => this.#update());
      // connect() settles with the first success, or rejects on close().
      client.connect().catch(() => {});
    }
  }

  /** This process's id: the origin of its envelopes. */
  get id(): string {
    return this.#core.id;
  }

  /** `connecting` until the first connection, then `ready` or `down`. */
  get state(): BackplaneState {
    return this.#core.state;
  }

  /**
   * True: Redis delivers a channel's messages to every subscriber in one
   * order, this process's own included, so a publication with `echo` comes
   * back in its place in that order.
   */
  readonly totalOrder = true;

  /** Counters since creation. */
  get stats(): BackplaneStats {
    return this.#core.stats;
  }

  /** The Redis channel that carries messages for `target`. */
  channel(target: Target): string {
    return `${this.#base}:${targetKey(checkTarget(target))}`;
  }

  /**
   * Publishes to the target's channel; resolves `true` once Redis took the
   * message. While Redis is unreachable it resolves `false` at once.
   */
  publish(publication: Publication): Promise<boolean> {
    const { target } = publication;
    const key = targetKey(target);
    const sent = performance.now();
    const publishing = !this.#closed && this.#pub.isReady && !this.#stalled;
    // It comes back only on a subscription in place.
    const bytes = this.#core.encode(
      publication,
      publishing && this.#confirmed.has(key),
    );
    const seq = this.#core.seq;
    // The publishing connection alone decides: a publication can reach the
    // others while this process's subscriptions are being restored.
    if (!publishing) {
      return Promise.resolve(this.#core.failed(
        target,
        new WebSocketError(
          `Redis at ${this.#url} is ${
            this.#closed
              ? "closed"
              : this.#stalled
              ? "not answering"
              : "unreachable"
          }: message not published`,
          { status: WebSocketStatus.ServerUnreachable },
        ),
      ));
    }
    const channel = `${this.#base}:${key}`;
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    this.#unacknowledged.sent(sent);
    return this.#pub.publish(channel, payload).then(
      () => {
        this.#answered();
        return this.#core.published(sent);
      },
      (error: unknown) => {
        this.#answered();
        this.#core.echoes.failed(seq);
        return this.#core.failed(target, error);
      },
    );
  }

  /**
   * Takes the link down when Redis answered nothing for longer than
   * `stallTimeout` while publications waited, as of the previous tick of
   * the check: every answer that had arrived by then has been read since
   * (the event loop polled between the two ticks). Judged as of now, a
   * process busy for seconds without reading (a burst of thousands of
   * messages from one socket, which Deno's WebSocket hands over without
   * yielding) would blame Redis for its own silence.
   */
  #checkStall(): void {
    const now = performance.now();
    const asOf = this.#previousTick;
    this.#previousTick = now;
    if (this.#stalled || this.#closed) return;
    const age = this.#unacknowledged.silence(asOf);
    if (age <= this.#stallTimeout) return;
    this.#stalled = true;
    this.#core.setState(
      "down",
      new WebSocketError(
        `Redis at ${this.#url} has answered nothing for ${
          Math.round(age)
        } ms while publications waited (stallTimeout ${this.#stallTimeout}): publishing fails until it answers`,
        { status: WebSocketStatus.ServerUnreachable },
      ),
    );
  }

  #answered(): void {
    this.#unacknowledged.settled(performance.now());
    if (!this.#stalled) return;
    this.#stalled = false;
    this.#update();
  }

  /** Subscribes to the target's channel (at once, or when Redis is back). */
  subscribe(target: Target): void {
    checkTarget(target);
    const key = targetKey(target);
    if (this.#closed || this.#core.subscriptions.has(key)) return;
    this.#core.subscriptions.set(key, target);
    const channel = `${this.#base}:${key}`;
    const listener = (message: Buffer) =>
      this.#core.arrive(message, channel, key);
    this.#listeners.set(key, listener);
    this.#track(
      this.#sub.subscribe(channel, listener, true).then(() => {
        if (this.#listeners.get(key) === listener) this.#confirmed.add(key);
      }),
    );
  }

  /** Unsubscribes from the target's channel. */
  unsubscribe(target: Target): void {
    const key = targetKey(target);
    const listener = this.#listeners.get(key);
    if (this.#closed || listener === undefined) return;
    this.#core.subscriptions.delete(key);
    this.#listeners.delete(key);
    this.#confirmed.delete(key);
    this.#track(this.#sub.unsubscribe(`${this.#base}:${key}`, listener, true));
  }

  /** Whether this process is subscribed to `target`. */
  subscribed(target: Target): boolean {
    return this.#core.subscriptions.has(targetKey(target));
  }

  /**
   * Resolves when Redis has confirmed every `subscribe()` and
   * `unsubscribe()` made so far (or, while Redis is away, once they have
   * been taken over by the reconnection).
   */
  settled(): Promise<void> {
    return this.#pending.then(() => {});
  }

  /** Sets a handler of arriving messages; returns its removal. */
  onMessage(handler: BackplaneHandler): () => void {
    return this.#core.onMessage(handler);
  }

  /** Adds an event listener; returns its removal. */
  onEvent(listener: (event: BackplaneEvent) => void): () => void {
    return this.#core.onEvent(listener);
  }

  /**
   * Closes both connections. Publications in flight are written first and
   * answered, unless Redis stays silent for `stallTimeout`: then the
   * connections are dropped.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#stallCheck);
    this.#core.subscriptions.clear();
    this.#listeners.clear();
    this.#confirmed.clear();
    this.#readied.reject(
      new WebSocketError("The Redis backplane was closed", {
        status: WebSocketStatus.Aborted,
      }),
    );
    this.#core.setState("down");
    const pub = this.#pub;
    const graceful = pub.isReady && !this.#stalled;
    this.#sub.destroy();
    if (!graceful) return pub.destroy();
    // Waits for Redis to answer what is in flight, but no longer than a
    // stall: a Redis that stopped answering must not hold a shutdown.
    const closing = pub.close();
    const answered =
      await (Number.isFinite(this.#stallTimeout)
        ? cancellable(closing, AbortSignal.timeout(this.#stallTimeout))
        : closing).then(() => true, () => false);
    if (!answered) pub.destroy();
  }

  #track(operation: Promise<unknown>): void {
    // A failed (un)subscribe is retried by node-redis when it reconnects;
    // it is reported, never thrown.
    const done = operation.catch((error: unknown) => this.#failed(error));
    this.#pending = Promise.all([this.#pending, done]);
  }

  #update(error?: unknown): void {
    if (this.#closed) return;
    if (this.#pub.isReady && this.#sub.isReady && !this.#stalled) {
      this.#wasReady = true;
      this.#warned = false;
      this.#readied.resolve();
      return this.#core.setState("ready");
    }
    this.#core.setState(this.#wasReady ? "down" : "connecting", error);
  }

  #failed(cause: unknown): void {
    if (this.#closed) return;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const refused = CREDENTIALS_REFUSED.test(reason);
    const what = refused ? " refused the credentials" : "";
    const advice = refused
      ? "give the user and password in the URL, redis://[USER]:PASSWORD@HOST:PORT; "
      : "";
    const error = new WebSocketError(
      `Redis at ${this.#url}${what}: ${reason}; ${
        this.#pub.isReady && this.#sub.isReady
          ? "still connected"
          : `${advice}retrying, publications fail meanwhile`
      }`,
      {
        status: refused
          ? WebSocketStatus.CredentialsRefused
          : WebSocketStatus.ServerUnreachable,
        cause,
      },
    );
    if (!this.#core.hasListeners && !this.#warned) {
      this.#warned = true;
      console.warn(`socketry: ${error.message}`);
    }
    this.#update(error);
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return "(invalid URL)";
  }
}
