/**
 * The permessage-deflate codec (RFC 7692 section 7.2) on `node:zlib`: raw
 * DEFLATE with the agreed window sizes, `Z_SYNC_FLUSH` at the end of every
 * piece, the trailing `00 00 ff ff` stripped on the way out and appended on
 * the way in, context takeover kept or dropped per message as agreed, a
 * decompressed-size limit that stops a decompression bomb within one output
 * chunk, and a process-wide bound on concurrent zlib operations.
 *
 * @module
 */

import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  type DeflateRaw,
  deflateRaw,
  type InflateRaw,
} from "node:zlib";
import { nextTick } from "node:process";
import { concatBytes } from "../bytes.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { CloseCode } from "../protocol/close_codes.ts";
import type { DeflateParams } from "../protocol/deflate_negotiation.ts";
import { DEFAULT_MAX_MESSAGE_SIZE, type Role } from "../protocol/parser.ts";

/** Default number of zlib operations that may run at once in the process (as ws's `concurrencyLimit`). */
export const DEFAULT_ZLIB_CONCURRENCY = 10;

/**
 * Default `threshold`: 0, every message is compressed unless a send says
 * not. ws uses 1024; messages that small rarely gain much.
 */
export const DEFAULT_COMPRESSION_THRESHOLD = 0;

/**
 * The size of each output chunk zlib produces, and so the most a
 * decompression can overshoot `maxDecompressedSize` before it is stopped.
 */
export const ZLIB_CHUNK_SIZE = 16 * 1024;

/** The empty stored block that ends a sync flush (RFC 7692 section 7.2.1). */
const TRAILER = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const EMPTY = new Uint8Array(0);

/**
 * A FIFO semaphore bounding how many zlib operations run at once. One is
 * shared by every connection ({@linkcode zlibLimiter}): many connections
 * compressing at the same moment queue here instead of each holding zlib
 * buffers and thread time (ws's `concurrencyLimit`, for the memory
 * fragmentation reported in nodejs/node#8871).
 */
export class ZlibLimiter {
  #limit: number;
  #active = 0;
  #queue: (() => void)[] = [];
  #head = 0;

  /**
   * Creates a limiter letting `limit` jobs run at once.
   *
   * @throws {RangeError} unless `limit` is a positive integer.
   */
  constructor(limit: number = DEFAULT_ZLIB_CONCURRENCY) {
    this.#limit = checkLimit(limit);
  }

  /** How many jobs may run at once. Raising it starts queued jobs at once. */
  get limit(): number {
    return this.#limit;
  }

  /** @throws {RangeError} unless `value` is a positive integer. */
  set limit(value: number) {
    this.#limit = checkLimit(value);
    this.#drain();
  }

  /** How many jobs are running. */
  get active(): number {
    return this.#active;
  }

  /** How many jobs wait for a slot. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Runs `job` once a slot is free, holding the slot until it settles. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#active < this.#limit && this.pending === 0) this.#active++;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    try {
      return await job();
    } finally {
      this.#active--;
      this.#drain();
    }
  }

  #drain(): void {
    while (this.#active < this.#limit && this.pending > 0) {
      const start = this.#queue[this.#head]!;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#active++;
      start();
    }
  }
}

function checkLimit(value: number): number {
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(
      `The zlib concurrency limit must be an integer > 0, got ${value}`,
    );
  }
  return value;
}

/** The process-wide limiter every {@linkcode PerMessageDeflate} uses unless given another. */
export const zlibLimiter: ZlibLimiter = new ZlibLimiter();

/** Settings of a {@linkcode PerMessageDeflate}. */
export interface PerMessageDeflateOptions {
  /**
   * Messages smaller than this many bytes are not worth compressing:
   * {@linkcode PerMessageDeflate.shouldCompress} says no. Default
   * {@linkcode DEFAULT_COMPRESSION_THRESHOLD}.
   */
  threshold?: number;
  /**
   * The largest message after inflating, in bytes. Past it decompression
   * stops within {@linkcode ZLIB_CHUNK_SIZE} bytes and fails with 1009, its
   * reason naming the limit as a socket's `maxMessageSize` (what an engine
   * socket passes here), worded as on every backend.
   * Default 64 MiB (the parser's default `maxMessageSize`); `Infinity` for
   * no limit.
   */
  maxDecompressedSize?: number;
  /** zlib compression level, 0 to 9, or -1 for zlib's default (6). Default -1. */
  level?: number;
  /** zlib memory level, 1 to 9: the compressor's hash table size. Default 8. */
  memLevel?: number;
  /** The limiter bounding concurrent zlib operations. Default {@linkcode zlibLimiter}. */
  limiter?: ZlibLimiter;
}

type ZlibStream = DeflateRaw | InflateRaw;

interface Operation {
  readonly chunks: Uint8Array[];
  size: number;
  readonly limit: number;
  readonly resolve: (output: Uint8Array) => void;
  readonly reject: (error: unknown) => void;
}

let liveHandles = 0;

/**
 * One zlib stream and the single operation it runs at a time: input in,
 * every output chunk gathered, an output limit checked chunk by chunk.
 */
class ZlibChannel {
  readonly #stream: ZlibStream;
  readonly #tooBig: () => WebSocketError;
  readonly #wrapError: (error: unknown) => WebSocketError;
  #operation: Operation | undefined;
  #closed = false;
  #failure: WebSocketError | undefined;
  #ended = false;

  constructor(
    stream: ZlibStream,
    tooBig: () => WebSocketError,
    wrapError: (error: unknown) => WebSocketError,
  ) {
    this.#stream = stream;
    this.#tooBig = tooBig;
    this.#wrapError = wrapError;
    liveHandles++;
    stream.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    stream.on("error", (error: unknown) => this.close(this.#wrapError(error)));
    stream.on("end", () => this.#ended = true);
  }

  /**
   * The stream reached its end: the peer ended a message with a final
   * DEFLATE block (BFINAL, RFC 7692 section 7.2.3.5). It takes no more input.
   */
  get ended(): boolean {
    if (this.#ended) return true;
    // "end" is emitted a tick after zlib reported the end; the flag is set at once.
    const state = (this.#stream as unknown as {
      _readableState?: { ended?: boolean };
    })._readableState;
    return state?.ended === true;
  }

  /**
   * Feeds `input` and resolves with all the output it produced (zlib flushes
   * each write), or rejects once the output passes `limit` bytes or zlib
   * reports an error.
   */
  process(input: Uint8Array, limit: number): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(this.#failure ?? closedError());
    }
    return new Promise((resolve, reject) => {
      const operation: Operation = {
        chunks: [],
        size: 0,
        limit,
        resolve,
        reject,
      };
      this.#operation = operation;
      this.#stream.write(input, (error) => {
        if (this.#operation !== operation) return;
        if (error) {
          this.close(this.#wrapError(error));
          return;
        }
        // Deno's zlib may call back before it reports an error found while
        // processing this write: the report (stream.destroy) is queued on
        // the next-tick queue first, so settle behind it.
        nextTick(() => this.#settle(operation));
      });
    });
  }

  #settle(operation: Operation): void {
    if (this.#operation !== operation) return;
    if (this.#stream.destroyed) {
      this.close(
        this.#wrapError(
          this.#stream.errored ?? new Error("the zlib stream was destroyed"),
        ),
      );
      return;
    }
    // Output still buffered on the readable side flows through "data".
    while (this.#stream.readableLength > 0 && this.#stream.read() !== null) {
      // read() emitted the chunk to #onData.
    }
    if (this.#operation !== operation) return;
    this.#operation = undefined;
    operation.resolve(concatBytes(operation.chunks, operation.size));
  }

  /** Empties the window: the next input starts a fresh DEFLATE context. */
  reset(): void {
    if (!this.#closed) this.#stream.reset();
  }

  /**
   * Frees the zlib handle; an operation in progress rejects with `reason`,
   * and so does every later {@linkcode ZlibChannel.process}.
   */
  close(reason: WebSocketError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure = reason;
    liveHandles--;
    const operation = this.#operation;
    this.#operation = undefined;
    this.#stream.close();
    operation?.reject(reason);
  }

  #onData(chunk: Uint8Array): void {
    const operation = this.#operation;
    if (operation === undefined) return;
    operation.size += chunk.byteLength;
    if (operation.size > operation.limit) {
      // Stop zlib now: the rest of a bomb is never inflated.
      this.close(this.#tooBig());
      return;
    }
    operation.chunks.push(chunk);
  }
}

function endsWithTrailer(bytes: Uint8Array): boolean {
  const length = bytes.byteLength;
  return length >= 4 && bytes[length - 4] === 0x00 &&
    bytes[length - 3] === 0x00 && bytes[length - 2] === 0xff &&
    bytes[length - 1] === 0xff;
}

/**
 * The permessage-deflate codec of one connection, for one role: compresses
 * what this endpoint sends and inflates what the peer sends, with the
 * parameters agreed in the handshake ({@linkcode DeflateParams}).
 *
 * Both zlib streams are created on first use and freed by
 * {@linkcode PerMessageDeflate.close}. Calls of the same direction run one
 * at a time in call order, through the shared {@linkcode ZlibLimiter}; a
 * compression and a decompression may run at the same time.
 *
 * Window sizes: zlib cannot deflate with an 8-bit window, so when 8 bits are
 * agreed for this endpoint's messages it deflates with 9. The peer can still
 * inflate them with a 256-byte window, since zlib keeps match distances
 * within its window minus 262 bytes (250). Inflating uses the agreed size
 * exactly, 8 included.
 *
 * @example Round trip between a server and a client codec
 * ```ts
 * import { PerMessageDeflate } from "./deflate.ts";
 *
 * const params = {
 *   serverMaxWindowBits: 15,
 *   clientMaxWindowBits: 15,
 *   serverNoContextTakeover: false,
 *   clientNoContextTakeover: false,
 * } as const;
 * const server = new PerMessageDeflate(params, "server");
 * const client = new PerMessageDeflate(params, "client");
 * const payload = await server.compress(new TextEncoder().encode("hello"));
 * const message = await client.decompress(payload, true);
 * console.log(new TextDecoder().decode(message)); // "hello"
 * server.close();
 * client.close();
 * ```
 */
export class PerMessageDeflate {
  /** How many zlib handles are open in the process, across all codecs. */
  static get liveZlibHandles(): number {
    return liveHandles;
  }

  /** The parameters agreed in the handshake. */
  readonly params: DeflateParams;
  /** Which side of the connection this codec compresses for. */
  readonly role: Role;

  readonly #sendWindowBits: number;
  readonly #sendNoContextTakeover: boolean;
  readonly #receiveWindowBits: number;
  readonly #receiveNoContextTakeover: boolean;
  readonly #threshold: number;
  readonly #maxDecompressedSize: number;
  readonly #level: number;
  readonly #memLevel: number;
  readonly #limiter: ZlibLimiter;

  #deflate: ZlibChannel | undefined;
  #inflate: ZlibChannel | undefined;
  #deflateTail: Promise<unknown> = Promise.resolve();
  #inflateTail: Promise<unknown> = Promise.resolve();
  #deflateFailure: WebSocketError | undefined;
  #inflateFailure: WebSocketError | undefined;
  #closed = false;

  // The incoming message in progress: compressed bytes fed, bytes inflated.
  #receivedInput = 0;
  #receivedOutput = 0;

  /**
   * Creates the codec for one connection. `role` is this endpoint's side:
   * a server compresses with the server's parameters and inflates with the
   * client's, and the reverse for a client.
   *
   * @throws {RangeError} for window bits outside 8 to 15, or an option out
   * of range.
   * @throws {TypeError} for an unknown role.
   */
  constructor(
    params: DeflateParams,
    role: Role,
    options: PerMessageDeflateOptions = {},
  ) {
    if (role !== "server" && role !== "client") {
      throw new TypeError(
        `role must be "server" or "client", got ${String(role)}`,
      );
    }
    for (const key of ["serverMaxWindowBits", "clientMaxWindowBits"] as const) {
      const bits = params[key];
      if (!(Number.isInteger(bits) && bits >= 8 && bits <= 15)) {
        throw new RangeError(
          `${key} must be an integer from 8 to 15, got ${bits}`,
        );
      }
    }
    const {
      threshold = DEFAULT_COMPRESSION_THRESHOLD,
      maxDecompressedSize = DEFAULT_MAX_MESSAGE_SIZE,
      level = constants.Z_DEFAULT_COMPRESSION,
      memLevel = 8,
      limiter = zlibLimiter,
    } = options;
    if (!(Number.isSafeInteger(threshold) && threshold >= 0)) {
      throw new RangeError(
        `threshold must be an integer >= 0, got ${threshold}`,
      );
    }
    if (
      maxDecompressedSize !== Infinity &&
      !(Number.isSafeInteger(maxDecompressedSize) && maxDecompressedSize >= 0)
    ) {
      throw new RangeError(
        `maxDecompressedSize must be an integer >= 0 or Infinity, got ${maxDecompressedSize}`,
      );
    }
    if (!(Number.isInteger(level) && level >= -1 && level <= 9)) {
      throw new RangeError(`level must be -1 to 9, got ${level}`);
    }
    if (!(Number.isInteger(memLevel) && memLevel >= 1 && memLevel <= 9)) {
      throw new RangeError(`memLevel must be 1 to 9, got ${memLevel}`);
    }
    this.params = { ...params };
    this.role = role;
    const isServer = role === "server";
    const sendBits = isServer
      ? params.serverMaxWindowBits
      : params.clientMaxWindowBits;
    this.#sendWindowBits = Math.max(sendBits, 9);
    this.#sendNoContextTakeover = isServer
      ? params.serverNoContextTakeover
      : params.clientNoContextTakeover;
    this.#receiveWindowBits = isServer
      ? params.clientMaxWindowBits
      : params.serverMaxWindowBits;
    this.#receiveNoContextTakeover = isServer
      ? params.clientNoContextTakeover
      : params.serverNoContextTakeover;
    this.#threshold = threshold;
    this.#maxDecompressedSize = maxDecompressedSize;
    this.#level = level;
    this.#memLevel = memLevel;
    this.#limiter = limiter;
  }

  /** Messages below this many bytes are sent uncompressed. */
  get threshold(): number {
    return this.#threshold;
  }

  /** Whether {@linkcode PerMessageDeflate.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Names this codec's compressor settings when every message it sends
   * stands alone (no context takeover for this side): any codec with the
   * same name would compress a message to the same bytes, so one
   * compressed form can go to all of them. `undefined` with context
   * takeover, where each message depends on the ones before it.
   */
  get standaloneKey(): string | undefined {
    if (!this.#sendNoContextTakeover) return undefined;
    return `${this.#sendWindowBits}:${this.#level}:${this.#memLevel}`;
  }

  /**
   * Compresses a whole message on its own, outside this codec's context,
   * as this codec would with no context takeover; see
   * {@linkcode PerMessageDeflate.standaloneKey}.
   */
  compressAlone(data: Uint8Array): Promise<Uint8Array> {
    if (data.byteLength === 0) return Promise.resolve(Uint8Array.of(0x00));
    const options = {
      windowBits: this.#sendWindowBits,
      level: this.#level,
      memLevel: this.#memLevel,
      finishFlush: constants.Z_SYNC_FLUSH,
    };
    return this.#limiter.run(() =>
      new Promise<Uint8Array>((resolve, reject) =>
        deflateRaw(data, options, (error, output) => {
          if (error !== null || !endsWithTrailer(output)) {
            reject(internalError(`Compression failed: ${error}`, error));
          } else {
            resolve(output.subarray(0, output.byteLength - TRAILER.byteLength));
          }
        })
      )
    );
  }

  /** Whether a message of `size` bytes is worth compressing: `size >= threshold`. */
  shouldCompress(size: number): boolean {
    return size >= this.#threshold;
  }

  /**
   * Compresses one message, or one piece of it when `final` is `false`
   * (for a message sent in fragments: each piece is sync-flushed and keeps
   * its `00 00 ff ff`; the final piece drops it). With no context takeover
   * for this side, the compressor is reset after the final piece.
   *
   * `data` must not change until the promise settles. An empty final piece
   * gives the single byte `00` (RFC 7692 section 7.2.3.6).
   *
   * @throws {WebSocketError} (as a rejection) after {@linkcode PerMessageDeflate.close}
   * with status `invalidState`, or with status `unknown` and code 1011 if
   * zlib fails.
   */
  compress(data: Uint8Array, final: boolean = true): Promise<Uint8Array> {
    const run = () => this.#limiter.run(() => this.#compress(data, final));
    const result = this.#deflateTail.then(run, run);
    this.#deflateTail = result.catch(() => {});
    return result;
  }

  async #compress(data: Uint8Array, final: boolean): Promise<Uint8Array> {
    this.#checkOpen();
    if (this.#deflateFailure !== undefined) throw this.#deflateFailure;
    if (data.byteLength === 0) {
      if (!final) return EMPTY;
      // An empty stored block's header; the peer appends the rest.
      this.#endSending();
      return Uint8Array.of(0x00);
    }
    const channel = this.#deflate ??= new ZlibChannel(
      createDeflateRaw({
        windowBits: this.#sendWindowBits,
        level: this.#level,
        memLevel: this.#memLevel,
        chunkSize: ZLIB_CHUNK_SIZE,
        flush: constants.Z_SYNC_FLUSH,
      }),
      () => internalError("zlib produced more output than allowed"),
      (error) => internalError(`Compression failed: ${error}`, error),
    );
    let output: Uint8Array;
    try {
      output = await channel.process(data, Infinity);
    } catch (error) {
      this.#deflate = undefined;
      if (!this.#closed) this.#deflateFailure = asWebSocketError(error);
      throw error;
    }
    if (!endsWithTrailer(output)) {
      this.#deflateFailure = internalError(
        "zlib's sync flush did not end with 00 00 ff ff",
      );
      throw this.#deflateFailure;
    }
    if (!final) return output;
    this.#endSending();
    return output.subarray(0, output.byteLength - TRAILER.byteLength);
  }

  #endSending(): void {
    if (this.#sendNoContextTakeover) this.#deflate?.reset();
  }

  /**
   * Inflates the next compressed bytes of an incoming message and resolves
   * with the bytes they inflate to (possibly none yet). Pass the message's
   * frames' payloads in order, as one piece or several; `final` marks the
   * last piece of the message, after which `00 00 ff ff` is appended and,
   * with no context takeover for the peer, the window is reset.
   *
   * The input is copied at once, so it may be a view of a buffer that is
   * reused afterwards. A message whose compressed payload is empty inflates
   * to nothing. A message ending with a final DEFLATE block (BFINAL) is
   * accepted; the next message then starts a fresh context.
   *
   * @throws {WebSocketError} (as a rejection): status `messageTooBig`, code
   * 1009, as soon as the message inflates past `maxDecompressedSize`;
   * status `invalidPayload`, code 1007, for data that is not valid DEFLATE;
   * status `invalidState` after {@linkcode PerMessageDeflate.close}. After a
   * failure every later call fails the same way.
   */
  decompress(
    data: Uint8Array | readonly Uint8Array[],
    final: boolean,
  ): Promise<Uint8Array> {
    const pieces = data instanceof Uint8Array ? [data] : data;
    let size = final ? TRAILER.byteLength : 0;
    for (const piece of pieces) size += piece.byteLength;
    const input = new Uint8Array(size);
    let offset = 0;
    for (const piece of pieces) {
      input.set(piece, offset);
      offset += piece.byteLength;
    }
    if (final) input.set(TRAILER, offset);
    const run = () => this.#limiter.run(() => this.#decompress(input, final));
    const result = this.#inflateTail.then(run, run);
    this.#inflateTail = result.catch(() => {});
    return result;
  }

  async #decompress(input: Uint8Array, final: boolean): Promise<Uint8Array> {
    this.#checkOpen();
    if (this.#inflateFailure !== undefined) throw this.#inflateFailure;
    const compressed = final
      ? input.subarray(0, input.byteLength - TRAILER.byteLength)
      : input;
    const messageStart = this.#receivedInput === 0;
    this.#receivedInput += compressed.byteLength;
    if (compressed.byteLength === 0 && (!final || this.#receivedInput === 0)) {
      if (final) this.#endReceiving();
      return EMPTY;
    }
    let channel = this.#inflate;
    if (channel?.ended) {
      if (!messageStart) {
        // Bytes after a final block in the same message: zlib ignores them.
        if (final) this.#endReceiving();
        return EMPTY;
      }
      channel.close(closedError());
      channel = this.#inflate = undefined;
    }
    channel ??= this.#inflate = new ZlibChannel(
      createInflateRaw({
        windowBits: this.#receiveWindowBits,
        chunkSize: ZLIB_CHUNK_SIZE,
        flush: constants.Z_SYNC_FLUSH,
      }),
      () =>
        new WebSocketError(
          `Message exceeds maxMessageSize (${this.#maxDecompressedSize} bytes)`,
          {
            status: WebSocketStatus.MessageTooBig,
            code: CloseCode.MessageTooBig,
          },
        ),
      (error) =>
        new WebSocketError(`Invalid compressed data: ${messageOf(error)}`, {
          status: WebSocketStatus.InvalidPayload,
          code: CloseCode.InvalidPayload,
          cause: error,
        }),
    );
    let output: Uint8Array;
    try {
      output = await channel.process(
        input,
        this.#maxDecompressedSize - this.#receivedOutput,
      );
    } catch (error) {
      this.#inflate = undefined;
      if (!this.#closed) this.#inflateFailure = asWebSocketError(error);
      throw error;
    }
    this.#receivedOutput += output.byteLength;
    if (final) this.#endReceiving();
    return output;
  }

  #endReceiving(): void {
    this.#receivedInput = 0;
    this.#receivedOutput = 0;
    const channel = this.#inflate;
    if (this.#receiveNoContextTakeover && channel && !channel.ended) {
      channel.reset();
    }
  }

  /**
   * Frees both zlib handles. Operations in progress and queued ones reject
   * with a `WebSocketError` of status `invalidState`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = closedError();
    this.#deflate?.close(error);
    this.#inflate?.close(error);
    this.#deflate = undefined;
    this.#inflate = undefined;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }
}

function closedError(): WebSocketError {
  return new WebSocketError("The permessage-deflate codec is closed", {
    status: WebSocketStatus.InvalidState,
  });
}

function internalError(message: string, cause?: unknown): WebSocketError {
  return new WebSocketError(message, {
    status: WebSocketStatus.Unknown,
    code: CloseCode.InternalError,
    cause,
  });
}

function asWebSocketError(error: unknown): WebSocketError {
  return error instanceof WebSocketError
    ? error
    : internalError(`zlib failed: ${messageOf(error)}`, error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
