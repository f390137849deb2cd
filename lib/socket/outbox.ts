/**
 * The outgoing side of a socket, as ws's sender queue: `send()` writes at
 * once while the transport keeps up, and otherwise queues behind it in
 * order, applying backpressure (`sendHighWaterMark`), the slow-consumer
 * limit (`maxBufferedAmount`), `sendTimeout` and the senders' signals.
 *
 * @module
 */

import { signalError } from "../abort.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { utf8ByteLength } from "../utf8_length.ts";
import type { Counters } from "./counters.ts";
import type { ResolvedSocketOptions } from "./options.ts";
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
  readonly resolvers: PromiseWithResolvers<void>;
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
}

const encoder = new TextEncoder();

/** Sends in order, written at once or queued behind backpressure. */
export class Outbox {
  readonly #options: ResolvedSocketOptions;
  readonly #counters: Counters;
  readonly #transport: OutboxTransport;
  readonly #limit: WaitLimit;
  #items: Outgoing[] = [];
  #bytes = 0;
  #pumping = false;
  #sendingType: MessageType | undefined;
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
    this.#limit = new WaitLimit(options.sendTimeout, "sendTimeout");
  }

  /** Bytes accepted and not yet handed to the transport. */
  get bytes(): number {
    return this.#bytes;
  }

  /** See `Socket.send()`. */
  send(data: SendData, options: SendOptions): Promise<void> {
    const final = options.endOfMessage ?? true;
    const { payload, type, size } = normalizeSendData(data, options.type);
    if (this.#sendingType !== undefined && this.#sendingType !== type) {
      throw new TypeError(
        `A ${this.#sendingType} message is being sent in fragments; its next fragment cannot be ${type}`,
      );
    }
    if (this.#refusal !== undefined) return Promise.reject(this.#refusal());
    if (options.signal?.aborted) {
      return Promise.reject(signalError("send()", options.signal));
    }
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
      return Promise.reject(
        new WebSocketError(
          `Send queue full: ${buffered} bytes wait to be written and ${size} more would pass maxBufferedAmount (${maxBufferedAmount}); the peer reads too slowly`,
          { status: WebSocketStatus.SendQueueFull },
        ),
      );
    }
    const first = this.#sendingType === undefined;
    this.#sendingType = final ? undefined : type;
    const compress = options.compress ?? true;
    if (
      this.#direct && this.#items.length === 0 &&
      transportBuffered < sendHighWaterMark
    ) {
      let written: Promise<void> | void;
      try {
        written = this.#transport.transmit(payload, type, final, compress);
      } catch (error) {
        if (error instanceof WebSocketError) return Promise.reject(error);
        throw error;
      }
      this.#counters.sent(size, final);
      return written ?? Promise.resolve();
    }
    const resolvers = Promise.withResolvers<void>();
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
    const stop = this.#limit.watch(
      "send()",
      options.signal,
      (error) => this.#drop(item, error),
    );
    if (stop !== undefined) resolvers.promise.then(stop, stop);
    this.#pump();
    return resolvers.promise;
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
  }

  /** The socket ended: queued sends fail with `failure`, later ones with `refusal()`. */
  end(failure: WebSocketError, refusal: () => WebSocketError): void {
    this.#ended = true;
    this.#direct = false;
    this.refuse(refusal);
    this.#limit.clear();
    for (const item of this.#items.splice(0)) item.resolvers.reject(failure);
    this.#bytes = 0;
  }

  /** Resolves once every queued send was written (or the socket ended). */
  async drained(): Promise<void> {
    while (this.#items.length > 0 || this.#pumping) {
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
    item.resolvers.reject(error);
    if (item.first && item.final) return;
    // Part of a message is gone: the rest can never form a valid message.
    this.#transport.abort();
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
        this.#bytes -= item.size;
        try {
          await transport.transmit(
            item.data,
            item.type,
            item.final,
            item.compress,
          );
          this.#counters.sent(item.size, item.final);
          item.resolvers.resolve();
        } catch (error) {
          item.resolvers.reject(this.#refusal?.() ?? error);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}

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
