/**
 * The background socket processor: the Deno form of ASP.NET's
 * `TaskCompletionSource` pattern. A request handler must return the upgrade
 * response before the socket opens, so it hands the socket to a long-lived
 * processor and gets back a per-connection completion promise, settled
 * exactly once when the processor is done with the socket.
 *
 * @module
 */

import type { ServerMetrics } from "./metrics/server_metrics.ts";
import { WebSocketError, WebSocketStatus } from "./errors.ts";
import {
  checkKnownOptions,
  checkMilliseconds,
  optionNames,
} from "./option_checks.ts";
import { WaitTimer } from "./wait_timer.ts";
import type { Backplane } from "./backplane/backplane.ts";
import { ProcessorLink } from "./backplane/processor_link.ts";
import { offerPrepared, PreparedMessage } from "./prepared_message.ts";
import type {
  MessageData,
  SendData,
  SendOptions,
  Socket,
  SocketClosed,
} from "./socket/mod.ts";
import { SENT } from "./socket/sent.ts";
import { atOneTime } from "./socket/counters.ts";
import { onSocketEnd } from "./socket/socket.ts";

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

/** A socket joined or left a group; `members` is the group's new size. */
export interface GroupChange {
  /** The group. */
  readonly group: string;
  /** The socket that joined or left. */
  readonly socket: Socket;
  /** True for a join, false for a leave (explicit, or because the socket closed). */
  readonly joined: boolean;
  /** How many sockets the group holds now. */
  readonly members: number;
}

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
   * (`"close"`, the default; the socket leaves its groups at once), or
   * skips that one message (`"skip"`). Either way the broadcast does not
   * wait for it, and the other sockets are not slowed.
   */
  slowConsumer?: SlowConsumerPolicy;
  /**
   * Called after every change of a group's membership, including the leave
   * of a socket that closed: feed presence counts from here.
   */
  onGroupChange?: (change: GroupChange) => void;
  /**
   * Counts each message a full send queue refused, whatever the
   * `slowConsumer` policy (`socketry_send_queue_drops_total`), and this
   * processor's groups (`socketry_groups`).
   */
  metrics?: ServerMetrics;
  /**
   * Shares rooms, broadcasts, socket ids and users with the other processes
   * on the same backplane: `broadcast()`, `sendToGroup()`, `sendToSocket()`
   * and `sendToUser()` then reach every socket in every process, each one
   * exactly once (local sockets directly, the others through the
   * backplane). Room names must then obey the backplane's name rules.
   * The processor does not close it: close it after `shutdown()`.
   * Default: none, everything stays in this process.
   */
  backplane?: Backplane;
  /**
   * Gives rooms one order of messages for every member in every process
   * (true for all rooms, or a function that says which): `sendToGroup()`
   * then reaches local members too through the broker, when it hands the
   * message back in the order every process sees, instead of at once. The
   * cost is a broker round trip before local members get a message. While
   * the broker is unreachable (and in the moments before this process's
   * subscription to a room is confirmed) local members are served at once,
   * and that order is per sender only. Needs a backplane whose `totalOrder`
   * is true (`RedisBackplane`, or `BroadcastChannelBackplane` created with
   * its `totalOrder` option; another is refused with a `TypeError`). Every
   * process sharing a room must agree. Without a backplane, one process's
   * rooms have one order anyway. Default false: local members first, one
   * order per sender.
   */
  totalOrder?: boolean | ((room: string) => boolean);
  /**
   * Called when the number of members of a room across every process
   * sharing the backplane changes (without a backplane, this processor's
   * count): feed member counts shown to users from here.
   */
  onClusterCount?: (group: string, members: number) => void;
}

const PROCESSOR_OPTIONS = optionNames<keyof SocketProcessorOptions>({
  onSocket: true,
  onError: true,
  workGracePeriod: true,
  slowConsumer: true,
  onGroupChange: true,
  metrics: true,
  backplane: true,
  totalOrder: true,
  onClusterCount: true,
});

/** Options of {@linkcode SocketProcessor.add}. */
export interface AddOptions {
  /** The user the socket belongs to, for `sendToUser()`. */
  user?: string;
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
  /** Sockets that took the message into their send queue. */
  readonly sent: number;
  /** Sockets that refused it (ending, or slow consumers with a full queue). */
  readonly failed: number;
}

/** Options of {@linkcode SocketProcessor.broadcast} and `sendToGroup()`. */
export interface BroadcastOptions extends SendOptions {
  /**
   * A socket left out, usually the sender. Without it every member gets
   * the message, the sender included.
   */
  except?: Socket;
}

type WorkOutcome = { failed: false } | { failed: true; error: unknown };

const WORK_DONE: WorkOutcome = { failed: false };
const NO_WORK: Promise<WorkOutcome> = Promise.resolve(WORK_DONE);
const NEXT_TICK: Promise<void> = Promise.resolve();

/** What the processor keeps for each live socket. */
class Entry {
  // Made on the first join: most sockets never join a group.
  groups: Set<string> | undefined = undefined;
  // False once the socket ended: it has no id any more, even during its grace period.
  linked = true;
  completion!: Promise<SocketCompletion>;
  settle!: (completion: SocketCompletion | Promise<SocketCompletion>) => void;
  // Set once the socket's work settled; most work ends before its socket.
  outcome: WorkOutcome | undefined = undefined;
  // The work while it runs: a settled one is not kept.
  work: Promise<WorkOutcome> | undefined = undefined;
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
 *   onSocket: (socket) => {
 *     socket.addEventListener("message", ({ data }) => {
 *       socket.send(data).catch(() => socket.abort());
 *     });
 *     return socket.closed;
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
  // One timer for every socket's grace period, rather than one per socket.
  readonly #graceTimer: WaitTimer | undefined;
  readonly #slowConsumer: SlowConsumerPolicy;
  readonly #metrics: ServerMetrics | undefined;
  readonly #unwatch: (() => void) | undefined;
  readonly #onGroupChange: ((change: GroupChange) => void) | undefined;
  readonly #live = new Map<Socket, Entry>();
  readonly #groups = new Map<string, Set<Socket>>();
  readonly #link: ProcessorLink;
  // One function for every socket, rather than a closure per socket.
  readonly #onEnd = (socket: Socket, closed: SocketClosed) =>
    this.#socketEnded(socket, closed);
  #shutdown: Promise<SocketCompletion[]> | undefined;

  /** Creates a processor; it accepts sockets until `shutdown()`. */
  constructor(options: SocketProcessorOptions = {}) {
    checkKnownOptions(Object.keys(options), PROCESSOR_OPTIONS);
    this.#work = options.onSocket;
    this.#onError = options.onError ??
      ((error) => console.error("socketry: socket work failed:", error));
    this.#grace = checkMilliseconds(
      "workGracePeriod",
      options.workGracePeriod ?? 30_000,
    );
    this.#graceTimer = Number.isFinite(this.#grace)
      ? new WaitTimer(this.#grace)
      : undefined;
    const policy = options.slowConsumer ?? "close";
    if (policy !== "close" && policy !== "skip") {
      throw new TypeError(
        `slowConsumer must be "close" or "skip", got ${policy}`,
      );
    }
    this.#slowConsumer = policy;
    this.#onGroupChange = options.onGroupChange;
    this.#metrics = options.metrics;
    this.#unwatch = this.#metrics?.watchProcessor(this);
    this.#link = new ProcessorLink(options.backplane, {
      members: (room) => this.#groups.get(room) ?? [],
      sockets: () => this.#live.keys(),
      count: (room) => this.count(room),
      rooms: () => this.#groups.keys(),
      counted: options.onClusterCount ?? (() => {}),
      deliver: (sockets, data, except) =>
        void this.#sendAll(sockets, data, except ? { except } : {}),
    }, options.totalOrder);
  }

  /** The backplane shared with other processes, if any. */
  get backplane(): Backplane | undefined {
    return this.#link.backplane;
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
   * `options.user` names the user the socket belongs to, for
   * `sendToUser()`; with a backplane it must obey the backplane's name
   * rules, or `add()` throws a `WebSocketError` (`policyViolation`) and
   * leaves the socket alone.
   */
  add(socket: Socket, options: AddOptions = {}): Promise<SocketCompletion> {
    const existing = this.#live.get(socket);
    if (existing !== undefined) return existing.completion;
    this.#link.added(socket, options.user);
    const entry = new Entry();
    const { promise, resolve } = Promise.withResolvers<SocketCompletion>();
    entry.completion = promise;
    entry.settle = resolve;
    this.#live.set(socket, entry);
    // The end hook completes the socket (and takes it out of its groups at
    // once, even while its work still runs): a reaction to `closed` would
    // cost every idle socket that promise and the reaction.
    if (!onSocketEnd(socket, this.#onEnd)) {
      socket.closed.then((closed) => this.#socketEnded(socket, closed));
    }
    this.#run(socket, entry);
    return promise;
  }

  /**
   * Adds a socket to a named group (a room). The socket must be live in this
   * processor and not closed; it leaves every group by itself when it
   * closes. Joining twice changes nothing.
   */
  join(socket: Socket, group: string): void {
    const entry = this.#entry(socket, "join()");
    this.#link.checkRoom(group);
    if (socket.state === "closed" || socket.state === "aborted") {
      throw new WebSocketError(
        "join(): the socket has already closed",
        { status: WebSocketStatus.InvalidState },
      );
    }
    const groups = entry.groups ??= new Set();
    if (groups.has(group)) return;
    groups.add(group);
    let members = this.#groups.get(group);
    if (members === undefined) {
      members = new Set();
      this.#groups.set(group, members);
    }
    members.add(socket);
    this.#changed(group, socket, true, members.size);
  }

  /** Removes a socket from a named group; does nothing if it is not in it. */
  leave(socket: Socket, group: string): void {
    this.#live.get(socket)?.groups?.delete(group);
    const members = this.#groups.get(group);
    if (members === undefined || !members.delete(socket)) return;
    if (members.size === 0) this.#groups.delete(group);
    this.#changed(group, socket, false, members.size);
  }

  /** The sockets of a group, in the order they joined. */
  members(group: string): Socket[] {
    return [...(this.#groups.get(group) ?? [])];
  }

  /** How many sockets a group holds (0 for an unknown group). */
  count(group: string): number {
    return this.#groups.get(group)?.size ?? 0;
  }

  /** The names of the groups that have members. */
  groups(): string[] {
    return [...this.#groups.keys()];
  }

  /** The groups a socket belongs to. */
  groupsOf(socket: Socket): string[] {
    return [...(this.#live.get(socket)?.groups ?? [])];
  }

  /**
   * Sends a message to every open socket, except `except`. The message is
   * encoded once, as a {@linkcode PreparedMessage}, and the same bytes go to
   * every socket (a message sent in fragments, `endOfMessage: false`, or
   * with a `signal`, is sent socket by socket). A `PreparedMessage` is
   * sent as it was prepared: of `options`, only `except` applies to it.
   * Resolves once every socket took the message into its send queue or
   * refused it: it never waits for a slow reader, so one stalled socket does
   * not hold up the sender or the others. A socket whose queue is full is
   * handled by the `slowConsumer` policy.
   */
  broadcast(
    data: SendData | MessageData | PreparedMessage,
    options: BroadcastOptions = {},
  ): Promise<BroadcastResult> {
    this.#link.publish({ kind: "all" }, data, options);
    return this.#sendAll(this.#live.keys(), data, options);
  }

  /**
   * Sends a message to every open socket of a group, the sender included
   * unless it is passed as `except`. Including it is the default because a
   * room then has one order of messages that every member sees, the
   * sender's own among them (a chat shows its own line where the others see
   * it); leave the sender out when it already shows what it sent. Like
   * `broadcast()`, it never waits for slow readers. In a room in total
   * order (the `totalOrder` option) it resolves once the message came back
   * from the broker and went to the local members.
   */
  sendToGroup(
    group: string,
    data: SendData | MessageData | PreparedMessage,
    options: BroadcastOptions = {},
  ): Promise<BroadcastResult> {
    if (this.#link.inOrder(group)) {
      const except = options.except;
      return this.#link.publishInOrder(
        group,
        data,
        options,
        (payload) =>
          this.#sendAll(
            this.#groups.get(group) ?? [],
            payload,
            except === undefined ? {} : { except },
          ),
      );
    }
    this.#link.publish({ kind: "room", name: group }, data, options);
    return this.#sendAll(this.#groups.get(group) ?? [], data, options);
  }

  /**
   * How many members a group has in every process sharing the backplane,
   * as last announced by each (at the end of every event-loop turn in which
   * it changed, and every 10 s). Known in the processes that hold members
   * of the group; without a backplane, the same as `count()`.
   */
  clusterCount(group: string): number {
    return this.#link.clusterCount(group);
  }

  /** The distinct users of a group's members in every process (see `clusterCount()`). */
  clusterUsers(group: string): string[] {
    return this.#link.clusterUsers(group);
  }

  /**
   * The id of a socket of this processor, unique across the processes
   * sharing a backplane: pass it to `sendToSocket()` from any of them.
   */
  idOf(socket: Socket): string | undefined {
    return this.#live.get(socket)?.linked ? this.#link.idOf(socket) : undefined;
  }

  /**
   * Sends a message to the socket with id `id`, held by this processor or,
   * through the backplane, by another. The result counts local sockets only.
   */
  sendToSocket(
    id: string,
    data: SendData | MessageData | PreparedMessage,
    options: BroadcastOptions = {},
  ): Promise<BroadcastResult> {
    const socket = this.#link.socket(id);
    if (socket === undefined) {
      this.#link.publish({ kind: "socket", name: id }, data, options);
    }
    return this.#sendAll(socket === undefined ? [] : [socket], data, options);
  }

  /**
   * Sends a message to every socket of a user (see `add()`), in this
   * processor and in the others. The result counts local sockets only.
   */
  sendToUser(
    user: string,
    data: SendData | MessageData | PreparedMessage,
    options: BroadcastOptions = {},
  ): Promise<BroadcastResult> {
    this.#link.publish({ kind: "user", name: user }, data, options);
    return this.#sendAll(this.#link.userSockets(user), data, options);
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
    const completions = await all;
    // The rooms' last leaves reach the other processes before the
    // application closes the backplane.
    this.#link.flush();
    this.#unwatch?.();
    return completions;
  }

  // A chain of callbacks rather than async functions: a socket waits for
  // its end without holding suspended frames.
  #run(socket: Socket, entry: Entry): void {
    if (this.#shutdown !== undefined) {
      this.#closeQuietly(socket, 1013, "Server shutting down");
    }
    const work = this.#startWork(socket, entry);
    if (entry.outcome === undefined) entry.work = work;
  }

  /** Called as the socket ends, before its `error` and `close` events. */
  #socketEnded(socket: Socket, closed: SocketClosed): void {
    this.#leaveAll(socket);
    const entry = this.#live.get(socket);
    if (entry === undefined) return;
    // Completes after the socket's close listeners ran, as a reaction to
    // `closed` did.
    queueMicrotask(() => entry.settle(this.#ended(socket, entry, closed)));
  }

  #ended(
    socket: Socket,
    entry: Entry,
    closed: SocketClosed,
  ): SocketCompletion | Promise<SocketCompletion> {
    // It left its groups as it ended (the end hook set in add()).
    entry.linked = false;
    this.#link.removed(socket);
    // Work already done needs no grace period: no timer, no race.
    if (entry.outcome !== undefined) {
      return this.#completed(socket, closed, entry.outcome);
    }
    let stopGrace: (() => void) | undefined;
    const late = new Promise<WorkOutcome>((resolve) => {
      stopGrace = this.#graceTimer?.start(() =>
        resolve({
          failed: true,
          error: new WebSocketError(
            `The socket's work did not return within ${this.#grace} ms after the socket ended`,
            { status: WebSocketStatus.Timeout },
          ),
        })
      );
    });
    return Promise.race([entry.work!, late]).then((outcome) => {
      stopGrace?.();
      return this.#completed(socket, closed, outcome);
    });
  }

  #completed(
    socket: Socket,
    closed: SocketClosed,
    outcome: WorkOutcome,
  ): SocketCompletion {
    this.#live.delete(socket);
    // No socket left in its grace period: the shared timer need not run.
    if (this.#live.size === 0) this.#graceTimer?.clear();
    return outcome.failed ? { socket, closed, error: outcome.error } : {
      socket,
      closed,
    };
  }

  #startWork(socket: Socket, entry: Entry): Promise<WorkOutcome> {
    const work = this.#work;
    if (work === undefined) {
      entry.outcome = WORK_DONE;
      return NO_WORK;
    }
    // The work starts on a later tick so that add() never blocks the handler.
    return NEXT_TICK.then(() => work(socket, this)).then(
      () => {
        entry.work = undefined;
        return entry.outcome = WORK_DONE;
      },
      (error) => {
        entry.work = undefined;
        this.#onError(error, socket);
        this.#closeQuietly(socket, 1011, "Internal server error");
        return entry.outcome = { failed: true, error };
      },
    );
  }

  async #sendAll(
    sockets: Iterable<Socket>,
    data: SendData | MessageData | PreparedMessage,
    options: BroadcastOptions,
  ): Promise<BroadcastResult> {
    const { except, ...sendOptions } = options;
    const prepared = prepare(data, sendOptions);
    let sent = 0;
    let failed = 0;
    let counting = true;
    let refusals: [WebSocketError, Socket][] | undefined;
    const refused = (error: unknown, socket: Socket) => {
      if (counting) {
        sent--;
        failed++;
      }
      this.#slow(error, socket);
    };
    atOneTime(() => {
      for (const socket of sockets) {
        if (socket === except || socket.state !== "open") continue;
        sent++;
        const refusal = this.#offer(
          socket,
          data,
          prepared,
          sendOptions,
          refused,
        );
        if (refusal !== undefined) (refusals ??= []).push([refusal, socket]);
      }
    });
    // After the loop: the slow-consumer policy may take sockets out of
    // the groups being walked.
    for (const [refusal, socket] of refusals ?? []) refused(refusal, socket);
    // The handlers of refusals made at once have run after this.
    await null;
    counting = false;
    return { sent, failed };
  }

  /**
   * Gives one socket a broadcast. A refusal (full queue, ending socket)
   * comes at once; a send that waits for the peer to read counts as taken
   * and is not awaited. A prepared message is offered: no promise per
   * socket, so a slow reader's queue holds the message and nothing else,
   * and its refusal is returned for the caller to handle after the loop.
   */
  #offer(
    socket: Socket,
    data: SendData | MessageData | PreparedMessage,
    prepared: PreparedMessage | undefined,
    sendOptions: SendOptions,
    refused: (error: unknown, socket: Socket) => void,
  ): WebSocketError | undefined {
    try {
      if (prepared !== undefined) return offerPrepared(prepared, socket);
      const sending = socket.send(data as SendData, sendOptions);
      if (sending !== SENT) {
        sending.then(undefined, (error) => refused(error, socket));
      }
    } catch (error) {
      refused(error, socket);
    }
    return undefined;
  }

  #slow(error: unknown, socket: Socket): void {
    if (
      !(error instanceof WebSocketError) ||
      error.status !== WebSocketStatus.SendQueueFull
    ) return;
    this.#metrics?.sendQueueDrop();
    if (this.#slowConsumer === "close") {
      // It leaves its groups now: its close handshake waits behind unread data.
      this.#leaveAll(socket);
      this.#closeQuietly(socket, 1008, "Slow consumer: send queue full");
    }
  }

  #leaveAll(socket: Socket): void {
    for (const group of this.#live.get(socket)?.groups ?? []) {
      this.leave(socket, group);
    }
  }

  #changed(
    group: string,
    socket: Socket,
    joined: boolean,
    members: number,
  ): void {
    this.#link.roomChanged(group, members);
    if (this.#onGroupChange === undefined) return;
    try {
      this.#onGroupChange({ group, socket, joined, members });
    } catch (error) {
      this.#onError(error, socket);
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

/** The message as prepared once for many sockets, unless it goes in parts. */
function prepare(
  data: SendData | MessageData | PreparedMessage,
  options: SendOptions,
): PreparedMessage | undefined {
  if (data instanceof PreparedMessage) return data;
  if (options.endOfMessage === false || options.signal !== undefined) {
    return undefined;
  }
  return new PreparedMessage(data, {
    ...(options.type === undefined ? {} : { type: options.type }),
    ...(options.compress === undefined ? {} : { compress: options.compress }),
  });
}
