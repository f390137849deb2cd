/**
 * The engine's receiving side: parses the bytes a transport reads, inflates
 * compressed messages in arrival order, checks inflated text, and pauses
 * the transport while the application falls behind.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import {
  type DataEvent,
  FrameParser,
  type ParserEvent,
  type Role,
} from "../protocol/parser.ts";
import { Utf8Validator } from "../protocol/utf8.ts";
import type { MessageType } from "../socket/mod.ts";
import type { PerMessageDeflate } from "./deflate.ts";
import type { Release } from "./read_buffers.ts";
import { ReadTurns } from "./read_turns.ts";
import { SerialQueue, type SerialTask } from "./serial_queue.ts";
import type { Transport } from "./transport.ts";

/** Reading pauses while more inflate jobs than this wait. */
const MAX_QUEUED_JOBS = 64;
/** ...and resumes once no more than this many do. */
const RESUME_QUEUED_JOBS = 16;

/** Where a {@linkcode FrameReader} delivers what it read, and asks how far the application is. */
export interface FrameSink {
  /** Whether frames are still wanted (the socket is not closed). */
  active(): boolean;
  /** A message or part of one; `hold` as in `Socket.handleData`. */
  data(
    type: MessageType,
    data: Uint8Array | string,
    messageEnd: boolean,
    hold?: () => Release,
  ): void;
  /** A PING arrived; `data` is the reader's to keep. */
  ping(data: Uint8Array): void;
  /** A PONG arrived; `data` is the reader's to keep. */
  pong(data: Uint8Array): void;
  /** The peer's close frame arrived, after every message before it. */
  close(code: number, reason: string): void;
  /** Reading failed: the peer broke the protocol, or inflating did. */
  fail(error: WebSocketError): void;
  /** Received bytes the application has not taken yet. */
  bufferedIncoming(): number;
  /** Whole messages the application has not taken yet. */
  completeMessagesQueued(): number;
}

/** Options of a {@linkcode FrameReader}. */
export interface FrameReaderOptions {
  /** Which side this is: a server expects masked frames, a client unmasked. */
  role: Role;
  /** The largest message, inflated or not. */
  maxMessageSize: number;
  /** The most frames one message may span. */
  maxFragments?: number | undefined;
  /** Reading pauses while more than this many received bytes wait. */
  receiveHighWaterMark: number;
  /** The agreed permessage-deflate codec, if any. */
  deflate?: PerMessageDeflate | undefined;
}

/** Reads the frames of one connection and hands them to its socket. */
export class FrameReader {
  readonly #transport: Transport;
  readonly #sink: FrameSink;
  readonly #parser: FrameParser;
  readonly #deflate: PerMessageDeflate | undefined;
  readonly #highWaterMark: number;
  // Frames after a compressed one wait for it to be inflated.
  readonly #queue = new SerialQueue();
  #inflatedText: Utf8Validator | undefined;
  // Set while a lent chunk is parsed: the transport reuses it afterwards.
  #hold: (() => Release) | undefined;
  #paused = false;
  // Paused until the event loop's turn ends: other connections read first.
  #yielding = false;
  readonly #turns = new ReadTurns();
  #stopped = false;

  /** Reads what `transport` delivers (through {@linkcode push}) into `sink`. */
  constructor(
    transport: Transport,
    sink: FrameSink,
    options: FrameReaderOptions,
  ) {
    this.#transport = transport;
    this.#sink = sink;
    this.#deflate = options.deflate;
    this.#highWaterMark = options.receiveHighWaterMark;
    this.#parser = new FrameParser({
      role: options.role,
      allowRsv1: options.deflate !== undefined,
      maxMessageSize: options.maxMessageSize,
      ...(options.maxFragments === undefined
        ? {}
        : { maxFragments: options.maxFragments }),
    });
  }

  /**
   * Parses `chunk`. With `hold`, the chunk is lent (see `TransportSink`):
   * what must outlive this call is copied or held.
   */
  push(chunk: Uint8Array, hold?: () => Release): void {
    this.#hold = hold;
    try {
      this.#parser.push(chunk, this.#onEvent);
    } catch (error) {
      this.#sink.fail(readingError(error));
      return;
    } finally {
      this.#hold = undefined;
    }
    // Pause only while a whole message waits to be taken: the parts of an
    // unfinished message cannot be delivered until the rest is read.
    if (
      !this.#paused && this.#sink.completeMessagesQueued() > 0 &&
      this.#sink.bufferedIncoming() > this.#highWaterMark
    ) {
      this.#pause();
    }
    if (!this.#turns.read() && !this.#yielding) this.#yieldTurn();
  }

  /** The application took data: reads again once it has caught up. */
  taken(): void {
    if (
      this.#paused && this.#sink.bufferedIncoming() <= this.#highWaterMark / 2
    ) {
      this.#resume();
    }
  }

  /** The socket is done: work still queued is dropped. */
  stop(): void {
    this.#stopped = true;
  }

  readonly #onEvent = (event: ParserEvent): void => {
    const sink = this.#sink;
    if (!sink.active()) return;
    const lent = this.#hold !== undefined;
    switch (event.kind) {
      case "data":
        if (event.compressed || this.#queue.size > 0) {
          // Handled after this read: a lent chunk is overwritten by then.
          const owned = lent ? { ...event, data: event.data.slice() } : event;
          this.#afterQueued(() => this.#deliver(owned));
        } else {
          sink.data(event.type, event.data, event.messageEnd, this.#hold);
        }
        return;
      case "ping":
        sink.ping(lent ? event.data.slice() : event.data);
        return;
      case "pong":
        sink.pong(lent ? event.data.slice() : event.data);
        return;
      case "close":
        if (this.#queue.size > 0) {
          this.#afterQueued(() => sink.close(event.code, event.reason));
        } else sink.close(event.code, event.reason);
    }
  };

  async #deliver(event: DataEvent): Promise<void> {
    if (!event.compressed) {
      this.#sink.data(event.type, event.data, event.messageEnd);
      return;
    }
    const data = await this.#deflate!.decompress(event.data, event.messageEnd);
    if (event.type === "text") {
      const validator = this.#inflatedText ??= new Utf8Validator();
      if (!validator.push(data) || (event.messageEnd && !validator.finish())) {
        throw new WebSocketError("Text message is not valid UTF-8", {
          status: WebSocketStatus.InvalidPayload,
          code: 1007,
        });
      }
      if (event.messageEnd) this.#inflatedText = undefined;
    }
    this.#sink.data(event.type, data, event.messageEnd);
  }

  /** Runs `task` after earlier inflating; a failure fails the connection. */
  #afterQueued(task: SerialTask): void {
    this.#queue.run(async () => {
      try {
        if (!this.#stopped) await task();
      } catch (error) {
        this.#sink.fail(readingError(error));
      } finally {
        // This task still counts in the queue's size.
        if (
          this.#paused && this.#queue.size <= RESUME_QUEUED_JOBS + 1 &&
          this.#sink.completeMessagesQueued() === 0
        ) {
          this.#resume();
        }
      }
    });
    if (this.#queue.size > MAX_QUEUED_JOBS && !this.#paused) this.#pause();
  }

  #pause(): void {
    this.#paused = true;
    this.#transport.pause();
  }

  #resume(): void {
    this.#paused = false;
    if (!this.#yielding) this.#transport.resume();
  }

  #yieldTurn(): void {
    this.#yielding = true;
    this.#transport.pause();
    ReadTurns.afterTurn(() => {
      this.#yielding = false;
      if (!this.#paused && !this.#stopped) this.#transport.resume();
    });
  }
}

function readingError(error: unknown): WebSocketError {
  return error instanceof WebSocketError ? error : new WebSocketError(
    `Internal error while reading: ${error}`,
    { status: WebSocketStatus.Unknown, code: 1011, cause: error },
  );
}
