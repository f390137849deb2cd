/**
 * The background socket processor (SPEC S5): the Deno form of ASP.NET's
 * `TaskCompletionSource` pattern. A request handler must return the upgrade
 * response before the socket opens, so it hands the socket to a long-lived
 * processor and gets back a per-connection completion promise, settled
 * exactly once when the processor is done with the socket.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "./errors.ts";
import type {
  MessageData,
  SendData,
  SendOptions,
  Socket,
  SocketClosed,
} from "./socket/mod.ts";

/** How the processor finished with one socket. */
export interface SocketCompletion {
  /** The socket. */
  readonly socket: Socket;
  /** How the socket ended. */
  readonly closed: SocketClosed;
  /**
   * Set when the background work threw, or did not return within
   * `workGracePeriod` after the socket ended.
   */
  readonly error?: unknown;
}

/** The per-socket background work: read, write, await. */
export type SocketWork = (
  socket: Socket,
  processor: SocketProcessor,
) => unknown;

/** What to do with a socket whose send queue is full during a broadcast. */
export type SlowConsumerPolicy = "close" | "skip";

/** Options of {@linkcode SocketProcessor}. Times are in milliseconds. */
export interface SocketProcessorOptions {
  /**
   * Work to run for each added socket, in the background. When it throws,
   * the socket is closed with 1011. Without it, the processor only holds
   * sockets for broadcasts and groups.
   */
  onSocket?: SocketWork;
  /** Called when the work for a socket fails. Default: `console.error`. */
  onError?: (error: unknown, socket: Socket) => void;
  /**
   * How long the work may run on after its socket ended before the
   * completion settles anyway, with an error. Default 30000.
   */
  workGracePeriod?: number;
  /**
   * A broadcast to a socket whose queue is full (`sendQueueFull`) either
   * closes it with 1008 so that the client reconnects and catches up
   * (`"close"`, the default), or skips that one message (`"skip"`).
   */
  slowConsumer?: SlowConsumerPolicy;
}

/** Options of {@linkcode SocketProcessor.shutdown}. */
export interface ShutdownOptions {
  /** The close code sent to every socket. Default 1001 (going away). */
  code?: number;
  /** The close reason. Default `"Server shutting down"`. */
  reason?: string;
  /**
   * How long to wait for close handshakes and work before aborting what is
   * left. Default 10000.
   */
  timeout?: number;
}

/** The outcome of a broadcast. */
export interface BroadcastResult {
  /** Sockets the message was handed to. */
  readonly sent: number;
  /** Sockets that could not take it (ended, or slow consumers). */
  readonly failed: number;
}

interface Entry {
  readonly groups: Set<string>;
  readonly completion: Promise<SocketCompletion>;
}

/**
 * Owns sockets after the request handler returned: runs their background
 * work, broadcasts, keeps named groups, and shuts everything down in order.
 *
 * @example A processor behind the middleware
 * ```ts
 * import { SocketProcessor, webSockets } from "@socketry/socketry";
 *
 * const processor = new SocketProcessor({
 *   onSocket: async (socket) => {
 *     for await (const message of socket) await socket.send(message);
 *   },
 * });
 * const handler = webSockets({ path: "/ws" }, async (socket) => {
 *   const done = await processor.add(socket);
 *   console.log("finished:", done.closed.ending);
 * });
 * // const server = Deno.serve(handler);
 * // Deno.addSignalListener("SIGTERM", () => processor.shutdown());
 * await processor.shutdown();
 * ```
 */
export class SocketProcessor {
  readonly #work: SocketWork | undefined;
  readonly #onError: (error: unknown, socket: Socket) => void;
  readonly #grace: number;
  readonly #slowConsumer: SlowConsumerPolicy;
  readonly #live = new Map<Socket, Entry>();
  readonly #groups = new Map<string, Set<Socket>>();
  #shutdown: Promise<SocketCompletion[]> | undefined;

  /** Creates a processor; it accepts sockets until `shutdown()`. */
  constructor(options: SocketProcessorOptions = {}) {
    this.#work = options.onSocket;
    this.#onError = options.onError ??
      ((error) => console.error("socketry: socket work failed:", error));
    this.#grace = options.workGracePeriod ?? 30_000;
    if (!(this.#grace >= 0)) {
      throw new RangeError(
        `workGracePeriod must be >= 0 ms, got ${options.workGracePeriod}`,
      );
    }
    const policy = options.slowConsumer ?? "close";
    if (policy !== "close" && policy !== "skip") {
      throw new TypeError(
        `slowConsumer must be "close" or "skip", got ${policy}`,
      );
    }
    this.#slowConsumer = policy;
  }

  /** The number of live sockets. */
  get size(): number {
    return this.#live.size;
  }

  /** Whether `shutdown()` was called. */
  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** The live sockets. */
  [Symbol.iterator](): IterableIterator<Socket> {
    return this.#live.keys();
  }

  /** Whether `socket` is live in this processor. */
  has(socket: Socket): boolean {
    return this.#live.has(socket);
  }

  /**
   * Takes charge of a socket and returns its completion promise, which
   * settles exactly once, when the socket has ended and its work returned.
   * It never rejects: a failure is reported in `error`. After `shutdown()`,
   * added sockets are closed at once with 1013 (try again later).
   */
  add(socket: Socket): Promise<SocketCompletion> {
    const existing = this.#live.get(socket);
    if (existing !== undefined) return existing.completion;
    const entry: Entry = {
      groups: new Set(),
      completion: this.#run(socket),
    };
    this.#live.set(socket, entry);
    return entry.completion;
  }

  /** Adds a live socket to a named group. */
  join(socket: Socket, group: string): void {
    const entry = this.#entry(socket, "join()");
    entry.groups.add(group);
    let members = this.#groups.get(group);
    if (members === undefined) {
      members = new Set();
      this.#groups.set(group, members);
    }
    members.add(socket);
  }

  /** Removes a socket from a named group. */
  leave(socket: Socket, group: string): void {
    this.#live.get(socket)?.groups.delete(group);
    const members = this.#groups.get(group);
    if (members === undefined) return;
    members.delete(socket);
    if (members.size === 0) this.#groups.delete(group);
  }

  /** The live members of a group. */
  members(group: string): Socket[] {
    return [...(this.#groups.get(group) ?? [])];
  }

  /** The groups a socket belongs to. */
  groupsOf(socket: Socket): string[] {
    return [...(this.#live.get(socket)?.groups ?? [])];
  }

  /**
   * Sends a message to every open socket, except `except`. Resolves when
   * every socket took it or failed; slow consumers are handled by the
   * `slowConsumer` policy.
   */
  broadcast(
    data: SendData | MessageData,
    options: SendOptions & { except?: Socket } = {},
  ): Promise<BroadcastResult> {
    return this.#sendAll(this.#live.keys(), data, options);
  }

  /** Sends a message to every open socket of a group. */
  sendToGroup(
    group: string,
    data: SendData | MessageData,
    options: SendOptions & { except?: Socket } = {},
  ): Promise<BroadcastResult> {
    return this.#sendAll(this.#groups.get(group) ?? [], data, options);
  }

  /**
   * Stops accepting sockets, closes every live one with `code` (1001) after
   * what was already queued for it has been written, waits for the close
   * handshakes and the work, aborts whatever is left after `timeout`, and
   * resolves with every completion once all have settled.
   */
  shutdown(options: ShutdownOptions = {}): Promise<SocketCompletion[]> {
    this.#shutdown ??= this.#runShutdown(options);
    return this.#shutdown;
  }

  async #runShutdown(options: ShutdownOptions): Promise<SocketCompletion[]> {
    const { code = 1001, reason = "Server shutting down", timeout = 10_000 } =
      options;
    const entries = [...this.#live];
    for (const [socket] of entries) this.#closeQuietly(socket, code, reason);
    const all = Promise.all(entries.map(([, entry]) => entry.completion));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), timeout);
    });
    if (await Promise.race([all, expired]) === "expired") {
      for (const [socket] of entries) socket.abort();
    }
    clearTimeout(timer);
    return await all;
  }

  async #run(socket: Socket): Promise<SocketCompletion> {
    if (this.#shutdown !== undefined) {
      this.#closeQuietly(socket, 1013, "Server shutting down");
    }
    const work = this.#startWork(socket);
    const closed = await socket.closed;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<{ failed: true; error: unknown }>((resolve) => {
      grace = setTimeout(
        () =>
          resolve({
            failed: true,
            error: new WebSocketError(
              `The socket's work did not return within ${this.#grace} ms after the socket ended`,
              { status: WebSocketStatus.Timeout },
            ),
          }),
        this.#grace,
      );
    });
    const outcome = await Promise.race([work, late]);
    clearTimeout(grace);
    for (const group of this.#live.get(socket)?.groups ?? []) {
      this.leave(socket, group);
    }
    this.#live.delete(socket);
    return outcome.failed ? { socket, closed, error: outcome.error } : {
      socket,
      closed,
    };
  }

  async #startWork(
    socket: Socket,
  ): Promise<{ failed: false } | { failed: true; error: unknown }> {
    if (this.#work === undefined) return { failed: false };
    try {
      // The work starts on a later tick so that add() never blocks the handler.
      await null;
      await this.#work(socket, this);
      return { failed: false };
    } catch (error) {
      this.#onError(error, socket);
      this.#closeQuietly(socket, 1011, "Internal server error");
      return { failed: true, error };
    }
  }

  async #sendAll(
    sockets: Iterable<Socket>,
    data: SendData | MessageData,
    options: SendOptions & { except?: Socket },
  ): Promise<BroadcastResult> {
    const { except, ...sendOptions } = options;
    const sends: Promise<void>[] = [];
    for (const socket of sockets) {
      if (socket === except || socket.state !== "open") continue;
      sends.push(this.#sendOne(socket, data, sendOptions));
    }
    const results = await Promise.allSettled(sends);
    const sent = results.filter((result) => result.status === "fulfilled")
      .length;
    return { sent, failed: results.length - sent };
  }

  async #sendOne(
    socket: Socket,
    data: SendData | MessageData,
    options: SendOptions,
  ): Promise<void> {
    try {
      await socket.send(data, options);
    } catch (error) {
      if (
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.SendQueueFull &&
        this.#slowConsumer === "close"
      ) {
        this.#closeQuietly(socket, 1008, "Slow consumer: send queue full");
      }
      throw error;
    }
  }

  #closeQuietly(socket: Socket, code: number, reason: string): void {
    if (socket.state === "closed" || socket.state === "aborted") return;
    socket.close(code, reason);
  }

  #entry(socket: Socket, what: string): Entry {
    const entry = this.#live.get(socket);
    if (entry === undefined) {
      throw new WebSocketError(
        `${what}: the socket is not live in this processor (never added, or already ended)`,
        { status: WebSocketStatus.InvalidState },
      );
    }
    return entry;
  }
}
