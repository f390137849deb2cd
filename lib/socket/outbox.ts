/**
 * The outgoing side of a socket, as ws's sender queue: `send()` writes at
 * once while the transport keeps up, and otherwise queues behind it in
 * order, applying backpressure (`sendHighWaterMark`), the slow-consumer
 * limit (`maxBufferedAmount`), `sendTimeout` and the senders' signals. A
 * transport with an ordered queue of its own (Deno's socket) takes the sends
 * that nothing could take back at once, even behind backpressure: only their
 * promises wait.
 *
 * @module
 */

import { signalError } from "../abort.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { utf8ByteLength } from "../utf8_length.ts";
import type { Counters } from "./counters.ts";
import type { ResolvedSocketOptions } from "./options.ts";
import { SENT } from "./sent.ts";
import type { MessageType, SendData, SendOptions } from "./types.ts";
import { WaitLimit } from "./wait_limit.ts";

interface Outgoing {
  readonly data: string | Uint8Array;
  readonly type: MessageType;
  readonly final: boolean;
  /** Whether this item starts a message (false for a continuation). */
  readonly first: boolean;
  readonly compress: boolean;
  readonly size: number;
  /** Absent for a send whose caller does not wait for it (an offer). */
  readonly resolvers: PromiseWithResolvers<void> | undefined;
}

/** The transport under an outbox, as the socket's backend provides it. */
export interface OutboxTransport {
  /** Writes one message or fragment. */
  transmit(
    data: string | Uint8Array,
    type: MessageType,
    final: boolean,
    compress: boolean,
  ): Promise<void> | void;
  /** Bytes the transport holds that are not yet on the network. */
  bufferedAmount(): number;
  /** At least `bufferedAmount()`, possibly more, and cheaper to read. */
  bufferedBound(): number;
  /** Resolves when the transport's buffer may have drained. */
  waitForDrain(): Promise<void>;
  /** Drops the connection: a message was cut short and cannot be completed. */
  abort(): void;
  /**
   * Whether the transport queues what it is given in order, counts it in
   * `bufferedAmount()` until it is written (whole messages, once their
   * final piece is given), and writes it whatever later happens to the
   * socket. Sends without a signal or `sendTimeout` then go to it at once:
   * holding them back would only leave its writer idle.
   */
  readonly queues?: boolean;
}

/** An offer held back until the message in fragments under way ends. */
interface Deferred {
  readonly payload: string | Uint8Array;
  readonly type: MessageType;
  readonly size: number;
  readonly compress: boolean;
}

/** A send given to a queueing transport behind backpressure, not yet resolved. */
interface HandedOver {
  /**
   * Bytes of whole messages given to the transport before this one; for
   * offers, before the last of a run of them, which all it stands for.
   */
  after: number;
  /** Absent for offers, which only `drained()` waits for. */
  readonly resolvers: PromiseWithResolvers<void> | undefined;
}

const encoder = new TextEncoder();

/** Sends in order, written at once or queued behind backpressure. */
export class Outbox {
  readonly #options: ResolvedSocketOptions;
  readonly #counters: Counters;
  readonly #transport: OutboxTransport;
  // Made on the first send that needs it: most sockets set no sendTimeout.
  #limit: WaitLimit | undefined;
  #items: Outgoing[] = [];
  #bytes = 0;
  #pumping = false;
  /** Sends a queueing transport took behind backpressure, oldest first. */
  #handedOver: HandedOver[] = [];
  #releasing = false;
  /** Bytes of whole messages given to the transport so far. */
  #given = 0;
  /** Bytes of the fragments given so far of the message under way. */
  #givenOfMessage = 0;
  #sendingType: MessageType | undefined;
  /** Offers that came while a message in fragments was under way. */
  #deferred: Deferred[] | undefined;
  /** Whether the socket opened: queued sends may be written. */
  #started = false;
  /** Whether sends may skip the queue (the socket is open, no close came). */
  #direct = false;
  #ended = false;
  /** Why sends fail now, once the socket stopped taking them. */
  #refusal: (() => WebSocketError) | undefined;

  /** An empty outbox over `transport`, counting into `counters`. */
  constructor(
    options: ResolvedSocketOptions,
    counters: Counters,
    transport: OutboxTransport,
  ) {
    this.#options = options;
    this.#counters = counters;
    this.#transport = transport;
  }

  /** Bytes accepted and not yet handed to the transport. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether nothing waits to be written: `drained()` would resolve at once. */
  get idle(): boolean {
    return this.#items.length === 0 && !this.#pumping &&
      this.#handedOver.length === 0;
  }

  /** See `Socket.send()`. */
  send(data: SendData, options: SendOptions): Promise<void> {
    const { payload, type, size } = normalizeSendData(data, options.type);
    return settled(
      this.#take(
        payload,
        type,
        size,
        options.endOfMessage ?? true,
        options.compress ?? true,
        options.signal,
        true,
      ),
    );
  }

  /**
   * Sends a whole message whose type and UTF-8 size are already known, as
   * a prepared message's are: no checks of the data, no measuring per
   * socket.
   */
  sendMeasured(
    payload: string | Uint8Array,
    type: MessageType,
    size: number,
    compress: boolean,
  ): Promise<void> {
    return settled(
      this.#take(payload, type, size, true, compress, undefined, true),
    );
  }

  /**
   * As `sendMeasured()`, for a caller that does not wait for the send (a
   * broadcast): no promise is made for it, so a message queued for a slow
   * reader costs the queue entry and nothing more. Returns the refusal
   * when the socket refused it at once (a full queue, a socket that
   * stopped taking sends); a later failure goes unreported, as it would to
   * a caller that never awaited `send()`. An offer that comes while the
   * socket's own message in fragments is under way waits for its end: a
   * whole message cannot go between the frames of another.
   */
  offerMeasured(
    payload: string | Uint8Array,
    type: MessageType,
    size: number,
    compress: boolean,
  ): WebSocketError | undefined {
    if (this.#sendingType !== undefined && this.#refusal === undefined) {
      const room = this.#room(size);
      if (room instanceof WebSocketError) return room;
      (this.#deferred ??= []).push({ payload, type, size, compress });
      this.#bytes += size;
      return undefined;
    }
    return this.#offerNow(payload, type, size, compress);
  }

  /** Takes an offer: no promise but the transport's own, which is ignored. */
  #offerNow(
    payload: string | Uint8Array,
    type: MessageType,
    size: number,
    compress: boolean,
  ): WebSocketError | undefined {
    const taken = this.#take(
      payload,
      type,
      size,
      true,
      compress,
      undefined,
      false,
    );
    if (taken instanceof WebSocketError) return taken;
    if (taken !== SENT) taken.then(undefined, ignore);
    return undefined;
  }

  /**
   * Writes a send at once, hands it to a queueing transport or queues it.
   * With `promised`, returns what the caller's promise is; without, makes
   * no promise but the transport's own. Returns a refusal made at once.
   */
  #take(
    payload: string | Uint8Array,
    type: MessageType,
    size: number,
    final: boolean,
    compress: boolean,
    signal: AbortSignal | undefined,
    promised: boolean,
  ): Promise<void> | WebSocketError {
    if (this.#sendingType !== undefined && this.#sendingType !== type) {
      throw new TypeError(
        `A ${this.#sendingType} message is being sent in fragments; its next fragment cannot be ${type}`,
      );
    }
    if (this.#refusal !== undefined) return this.#refusal();
    if (signal?.aborted) return signalError("send()", signal);
    const transportBuffered = this.#room(size);
    if (transportBuffered instanceof WebSocketError) return transportBuffered;
    const first = this.#sendingType === undefined;
    this.#sendingType = final ? undefined : type;
    const taken = this.#hand(
      payload,
      type,
      size,
      final,
      first,
      compress,
      signal,
      promised,
      transportBuffered >= this.#options.sendHighWaterMark,
    );
    // The message in fragments ended: the offers it held back follow it.
    if (final && !first && this.#deferred !== undefined) this.#takeDeferred();
    return taken;
  }

  /**
   * What the transport holds (`bufferedAmount()`), or the refusal when
   * `size` more bytes would pass `maxBufferedAmount`.
   */
  #room(size: number): number | WebSocketError {
    const { sendHighWaterMark, maxBufferedAmount } = this.#options;
    // An upper bound first: reading the exact figure costs a call into the
    // runtime on some backends, and the bound usually settles both checks.
    let transportBuffered = this.#transport.bufferedBound();
    if (
      transportBuffered >= sendHighWaterMark ||
      this.#bytes + transportBuffered + size > maxBufferedAmount
    ) {
      transportBuffered = this.#transport.bufferedAmount();
    }
    const buffered = this.#bytes + transportBuffered;
    if (buffered + size > maxBufferedAmount) {
      return new WebSocketError(
        `Send queue full: ${buffered} bytes wait to be written and ${size} more would pass maxBufferedAmount (${maxBufferedAmount}); the peer reads too slowly`,
        { status: WebSocketStatus.SendQueueFull },
      );
    }
    return transportBuffered;
  }

  /** Offers held back by a message in fragments, taken once it ended. */
  #takeDeferred(): void {
    const deferred = this.#deferred!;
    this.#deferred = undefined;
    for (const { payload, type, size, compress } of deferred) {
      this.#bytes -= size;
      // A refusal now (the queue filled meanwhile) drops it, as a skip.
      this.#offerNow(payload, type, size, compress);
    }
  }

  /** Writes a checked send at once, hands it over, or queues it. */
  #hand(
    payload: string | Uint8Array,
    type: MessageType,
    size: number,
    final: boolean,
    first: boolean,
    compress: boolean,
    signal: AbortSignal | undefined,
    promised: boolean,
    behind: boolean,
  ): Promise<void> | WebSocketError {
    if (
      this.#direct && this.#items.length === 0 &&
      (!behind || (this.#transport.queues === true &&
        signal === undefined &&
        !Number.isFinite(this.#options.sendTimeout)))
    ) {
      const after = this.#given;
      let written: Promise<void> | void;
      try {
        written = this.#transport.transmit(payload, type, final, compress);
      } catch (error) {
        if (error instanceof WebSocketError) return error;
        throw error;
      }
      this.#wrote(size, final);
      if (!behind) return written ?? SENT;
      const resolvers = promised ? Promise.withResolvers<void>() : undefined;
      // A run of offers needs one entry: the last of them, for drained().
      const last = this.#handedOver.at(-1);
      if (
        resolvers === undefined && last !== undefined &&
        last.resolvers === undefined
      ) {
        last.after = after;
      } else this.#handedOver.push({ after, resolvers });
      this.#release();
      return resolvers?.promise ?? SENT;
    }
    // A send under a time limit or a signal settles a promise even when
    // offered: the promise is what stops the watch.
    const resolvers = promised || signal !== undefined ||
        Number.isFinite(this.#options.sendTimeout)
      ? Promise.withResolvers<void>()
      : undefined;
    const item: Outgoing = {
      data: payload,
      type,
      final,
      first,
      compress,
      size,
      resolvers,
    };
    this.#items.push(item);
    this.#bytes += size;
    const stop = this.#watch(
      "send()",
      signal,
      (error) => this.#drop(item, error),
    );
    if (stop !== undefined) resolvers?.promise.then(stop, stop);
    this.#pump();
    return resolvers?.promise ?? SENT;
  }

  /** The socket opened: write what waits, and later sends at once. */
  open(): void {
    this.#started = true;
    this.#direct = true;
    this.#pump();
  }

  /** The peer's close arrived: later sends queue behind what waits. */
  peerClosed(): void {
    this.#direct = false;
  }

  /**
   * The socket takes no more sends (a close was started): they fail with
   * `refusal()`; what is queued is still written.
   */
  refuse(refusal: () => WebSocketError): void {
    this.#refusal = refusal;
    this.#sendingType = undefined;
    // Offers held back for a message that will never end: nobody waits.
    for (const { size } of this.#deferred ?? []) this.#bytes -= size;
    this.#deferred = undefined;
  }

  /**
   * The socket ended: sends still waiting fail with one `failure()`, later
   * ones with another each.
   */
  end(failure: () => WebSocketError): void {
    this.#ended = true;
    this.#direct = false;
    this.refuse(failure);
    this.#limit?.clear();
    const waiting = [...this.#items.splice(0), ...this.#handedOver.splice(0)];
    if (waiting.length > 0) {
      const error = failure();
      for (const { resolvers } of waiting) resolvers?.reject(error);
    }
    this.#bytes = 0;
  }

  /**
   * Resolves once every queued send was written and every send a queueing
   * transport took behind backpressure resolved (or the socket ended).
   */
  async drained(): Promise<void> {
    while (
      this.#items.length > 0 || this.#pumping || this.#handedOver.length > 0
    ) {
      if (this.#ended) return;
      await this.#transport.waitForDrain();
    }
  }

  /** Takes a cancelled or timed-out send out of the queue. */
  #drop(item: Outgoing, error: WebSocketError): void {
    const index = this.#items.indexOf(item);
    if (index === -1) return;
    this.#items.splice(index, 1);
    this.#bytes -= item.size;
    item.resolvers?.reject(error);
    if (item.first && item.final) return;
    // Part of a message is gone: the rest can never form a valid message.
    this.#transport.abort();
  }

  /** See `WaitLimit.watch()`; nothing to watch makes no limit. */
  #watch(
    what: string,
    signal: AbortSignal | undefined,
    fail: (error: WebSocketError) => void,
  ): (() => void) | undefined {
    const timeout = this.#options.sendTimeout;
    if (signal === undefined && !Number.isFinite(timeout)) return undefined;
    this.#limit ??= new WaitLimit(timeout, "sendTimeout");
    return this.#limit.watch(what, signal, fail);
  }

  async #pump(): Promise<void> {
    if (this.#pumping || !this.#started) return;
    this.#pumping = true;
    const transport = this.#transport;
    const highWaterMark = this.#options.sendHighWaterMark;
    try {
      while (this.#items.length > 0 && !this.#ended) {
        while (transport.bufferedAmount() >= highWaterMark && !this.#ended) {
          await transport.waitForDrain();
        }
        const item = this.#items.shift();
        if (item === undefined || this.#ended) break;
        // Fewer than the mark wait ahead of what the transport took before.
        for (const sent of this.#handedOver.splice(0)) {
          sent.resolvers?.resolve();
        }
        this.#bytes -= item.size;
        try {
          await transport.transmit(
            item.data,
            item.type,
            item.final,
            item.compress,
          );
          this.#wrote(item.size, item.final);
          item.resolvers?.resolve();
        } catch (error) {
          item.resolvers?.reject(this.#refusal?.() ?? error);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Counts a piece the transport took. */
  #wrote(size: number, final: boolean): void {
    this.#counters.sent(size, final);
    this.#givenOfMessage += size;
    if (!final) return;
    this.#given += this.#givenOfMessage;
    this.#givenOfMessage = 0;
  }

  /**
   * Resolves the sends a queueing transport took behind backpressure, each
   * once fewer than `sendHighWaterMark` bytes wait ahead of it: what was
   * given before it and is still buffered. The transport writes in order,
   * so while any of the bytes given since it are buffered, all of those are.
   */
  async #release(): Promise<void> {
    if (this.#releasing) return;
    this.#releasing = true;
    const waiting = this.#handedOver;
    const highWaterMark = this.#options.sendHighWaterMark;
    try {
      while (waiting.length > 0 && !this.#ended) {
        await this.#transport.waitForDrain();
        const buffered = this.#transport.bufferedAmount();
        while (
          waiting.length > 0 &&
          buffered - (this.#given - waiting[0]!.after) < highWaterMark
        ) {
          waiting.shift()!.resolvers?.resolve();
        }
      }
    } finally {
      this.#releasing = false;
    }
  }
}

/** A send's promise, or a refusal made at once as a rejected one. */
function settled(taken: Promise<void> | WebSocketError): Promise<void> {
  return taken instanceof WebSocketError ? Promise.reject(taken) : taken;
}

function ignore(): void {}

function normalizeSendData(
  data: SendData,
  type: MessageType | undefined,
): { payload: string | Uint8Array; type: MessageType; size: number } {
  if (type !== undefined && type !== "text" && type !== "binary") {
    throw new TypeError(
      `Unknown message type "${type}": use "text" or "binary"`,
    );
  }
  if (typeof data === "string") {
    if (type === "binary") {
      const bytes = encoder.encode(data);
      return { payload: bytes, type, size: bytes.byteLength };
    }
    return { payload: data, type: "text", size: utf8ByteLength(data) };
  }
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) {
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } else {
    throw new TypeError(
      `Cannot send ${
        Object.prototype.toString.call(data)
      }: use a string, ArrayBuffer or typed array`,
    );
  }
  return { payload: bytes, type: type ?? "binary", size: bytes.byteLength };
}
