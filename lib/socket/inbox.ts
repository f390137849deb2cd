/**
 * The incoming side of a socket, as python-websockets' `Assembler`: the
 * queue of received pieces, the one `receive()` or `for await` step waiting
 * for them, the pieces that view a transport's lent buffer, and the joining
 * of pieces into whole messages.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { endedError } from "./ending.ts";
import type {
  MessageData,
  MessageType,
  ReceivedClose,
  ReceiveResult,
  SocketClosed,
} from "./types.ts";
import { WaitLimit } from "./wait_limit.ts";

interface Incoming {
  readonly type: MessageType;
  payload: string | Uint8Array;
  readonly size: number;
  readonly final: boolean;
  offset: number;
  /** Gives the transport back the lent buffer `payload` views, once taken. */
  readonly release: (() => void) | undefined;
}

interface WaitingReader {
  readonly resolvers: PromiseWithResolvers<ReceiveResult>;
  readonly maxBytes: number;
  readonly into: Uint8Array | undefined;
}

/** What the socket learns from its inbox. */
export interface InboxHooks {
  /** The application took queued data. */
  taken(): void;
  /** The application was handed the peer's close. */
  closeDelivered(): void;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the message, not a marker to drop.
// Not fatal: backends hand over text bytes they already validated (the
// engine fails invalid UTF-8 with 1007), and Deno decodes 8x faster so.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Received data waiting for the application, and the reader waiting for it. */
export class Inbox {
  readonly #hooks: InboxHooks;
  readonly #receiveTimeout: number;
  // Made on the first wait that needs it: most sockets set no receiveTimeout.
  #limit: WaitLimit | undefined;
  #items: Incoming[] = [];
  #bytes = 0;
  #finals = 0;
  #reader: WaitingReader | undefined;
  #arrival: PromiseWithResolvers<void> | undefined;
  #peerClose: ReceivedClose | undefined;
  #closeDelivered = false;
  #ended: SocketClosed | undefined;

  /** An empty inbox whose waits last at most `receiveTimeout` ms. */
  constructor(receiveTimeout: number, hooks: InboxHooks) {
    this.#receiveTimeout = receiveTimeout;
    this.#hooks = hooks;
  }

  /** Bytes queued and not taken yet. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Complete messages queued and not taken yet. */
  get completeMessages(): number {
    return this.#finals;
  }

  /** Whether nothing is queued. */
  get empty(): boolean {
    return this.#items.length === 0;
  }

  /** The close frame the peer sent, if one arrived. */
  get peerClose(): ReceivedClose | undefined {
    return this.#peerClose;
  }

  /**
   * Queues a piece of `size` bytes. With `hold`, `payload` views a lent
   * buffer: a large piece holds it until taken, a small one is copied.
   */
  push(
    type: MessageType,
    payload: string | Uint8Array,
    size: number,
    final: boolean,
    hold: (() => () => void) | undefined,
  ): void {
    let release: (() => void) | undefined;
    if (hold !== undefined && typeof payload !== "string") {
      // Holding a lent buffer for a small piece would pin all of it for a
      // few bytes; copying those keeps what is held under twice the data.
      if (payload.byteLength * 2 >= payload.buffer.byteLength) release = hold();
      else payload = payload.slice();
    }
    this.#items.push({ type, payload, size, final, offset: 0, release });
    this.#bytes += size;
    if (final) this.#finals++;
  }

  /**
   * Records the peer's close frame, which ends what can arrive; `wake()`
   * then hands it to a waiting reader.
   */
  closeArrived(code: number, reason: string): void {
    this.#peerClose = {
      type: "close",
      data: EMPTY,
      endOfMessage: true,
      code,
      reason,
    };
  }

  /** The socket ended: waits fail from now on, once the queue is empty. */
  end(outcome: SocketClosed): void {
    this.#ended = outcome;
    this.#limit?.clear();
    this.wake();
  }

  /**
   * The next piece, of at most `maxBytes` bytes (copied into `into` if
   * given), or the peer's close; waits for one if none is queued.
   */
  receive(
    maxBytes: number,
    into: Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ReceiveResult> {
    if (this.#reader !== undefined) {
      return Promise.reject(
        new WebSocketError("Another receive() is already waiting", {
          status: WebSocketStatus.InvalidState,
        }),
      );
    }
    const ready = this.#takeReady(maxBytes, into);
    if (ready !== undefined) return Promise.resolve(ready);
    const failure = this.#receiveFailure();
    if (failure !== undefined) return Promise.reject(failure);
    const reader: WaitingReader = {
      resolvers: Promise.withResolvers<ReceiveResult>(),
      maxBytes,
      into,
    };
    this.#reader = reader;
    const fail = (error: WebSocketError) => {
      if (this.#reader !== reader) return;
      this.#reader = undefined;
      reader.resolvers.reject(error);
    };
    const { promise } = reader.resolvers;
    const stop = this.#watch("receive()", signal, fail);
    if (stop !== undefined) promise.then(stop, stop);
    return promise;
  }

  /** Fails a waiting `receive()`, if there is one, with `error()`. */
  rejectReader(error: () => WebSocketError): void {
    const reader = this.#reader;
    if (reader === undefined) return;
    this.#reader = undefined;
    reader.resolvers.reject(error());
  }

  /** Whole messages until the peer's close or the end of the socket. */
  async *messages(
    signal: AbortSignal | undefined,
  ): AsyncGenerator<MessageData, void, void> {
    while (true) {
      const message = this.takeMessage();
      if (message !== undefined) {
        yield message;
        continue;
      }
      if (this.#peerClose !== undefined) {
        if (!this.#closeDelivered && this.#items.length === 0) {
          this.#closeDelivered = true;
          this.#hooks.closeDelivered();
        }
        return;
      }
      if (this.#ended !== undefined) return;
      await this.#nextArrival(signal);
    }
  }

  /** Takes the next complete message from the queue, joining its parts. */
  takeMessage(): MessageData | undefined {
    const head = this.#items[0];
    if (head === undefined || this.#finals === 0) return undefined;
    this.#finals--;
    if (head.final && head.offset === 0) {
      this.#items.shift();
      this.#bytes -= head.size;
      const message = messageData(
        head.type,
        head.payload,
        head.release !== undefined,
      );
      head.release?.();
      this.#hooks.taken();
      return message;
    }
    const end = this.#items.findIndex((item) => item.final);
    const items = this.#items.splice(0, end + 1);
    const parts = items.map((item) =>
      (typeof item.payload === "string"
        ? encoder.encode(item.payload)
        : item.payload).subarray(item.offset)
    );
    let total = 0;
    for (const part of parts) total += part.byteLength;
    const whole = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      whole.set(part, offset);
      offset += part.byteLength;
    }
    for (const item of items) item.release?.();
    this.#bytes -= total;
    this.#hooks.taken();
    return head.type === "text" ? decoder.decode(whole) : whole;
  }

  /** Hands what arrived to the waiting reader or `for await` step. */
  wake(): void {
    const arrival = this.#arrival;
    if (arrival !== undefined) {
      this.#arrival = undefined;
      arrival.resolve();
    }
    const reader = this.#reader;
    if (reader === undefined) return;
    const ready = this.#takeReady(reader.maxBytes, reader.into);
    if (ready !== undefined) {
      this.#reader = undefined;
      reader.resolvers.resolve(ready);
      return;
    }
    const failure = this.#receiveFailure();
    if (failure !== undefined) {
      this.#reader = undefined;
      reader.resolvers.reject(failure);
    }
  }

  /** See `WaitLimit.watch()`; nothing to watch makes no limit. */
  #watch(
    what: string,
    signal: AbortSignal | undefined,
    fail: (error: WebSocketError) => void,
  ): (() => void) | undefined {
    if (signal === undefined && !Number.isFinite(this.#receiveTimeout)) {
      return undefined;
    }
    this.#limit ??= new WaitLimit(this.#receiveTimeout, "receiveTimeout");
    return this.#limit.watch(what, signal, fail);
  }

  async #nextArrival(signal: AbortSignal | undefined): Promise<void> {
    const arrival = this.#arrival ??= Promise.withResolvers<void>();
    const failure = Promise.withResolvers<never>();
    const stop = this.#watch("iteration", signal, failure.reject);
    if (stop === undefined) return await arrival.promise;
    try {
      await Promise.race([arrival.promise, failure.promise]);
    } finally {
      stop();
    }
  }

  #takeReady(
    maxBytes: number,
    into: Uint8Array | undefined,
  ): ReceiveResult | undefined {
    const head = this.#items[0];
    if (head === undefined) {
      if (this.#peerClose !== undefined && !this.#closeDelivered) {
        this.#closeDelivered = true;
        this.#hooks.closeDelivered();
        return this.#peerClose;
      }
      return undefined;
    }
    if (typeof head.payload === "string") {
      head.payload = encoder.encode(head.payload);
    }
    const bytes = head.payload;
    const end = Math.min(bytes.byteLength, head.offset + maxBytes);
    let data: Uint8Array;
    if (into !== undefined) {
      data = into.subarray(0, end - head.offset);
      data.set(bytes.subarray(head.offset, end));
    } else if (head.release !== undefined) {
      data = bytes.slice(head.offset, end);
    } else data = bytes.subarray(head.offset, end);
    head.offset = end;
    const done = end === bytes.byteLength;
    if (done) {
      this.#items.shift();
      head.release?.();
      if (head.final) this.#finals--;
    }
    this.#bytes -= data.byteLength;
    this.#hooks.taken();
    return { type: head.type, data, endOfMessage: done && head.final };
  }

  #receiveFailure(): WebSocketError | undefined {
    if (this.#ended === undefined) return undefined;
    return endedError("receive()", this.#ended);
  }
}

/**
 * A whole message as the application gets it: text decoded, binary bytes
 * copied out of a lent buffer (`lent`), which the transport reuses.
 */
export function messageData(
  type: MessageType,
  payload: string | Uint8Array,
  lent: boolean,
): MessageData {
  if (typeof payload === "string") return payload;
  if (type === "text") return decoder.decode(payload);
  return lent ? payload.slice() : payload;
}
