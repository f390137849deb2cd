/**
 * A raw-byte WebSocket test peer for the conformance suite: it speaks
 * HTTP/1.1 and RFC 6455 itself over `Deno.connect`, so it can send any frame
 * (any flags, any opcode, lying lengths, unmasked), cut the bytes anywhere and
 * trickle them byte by byte, while it records everything the server sends:
 * the raw bytes, and the frames as `FrameParser({ role: "client" })` sees
 * them, assembled into messages, pings, pongs, the close frame and the end of
 * the TCP stream. Every wait has a timeout, so a case never hangs.
 *
 * It may offer extensions ({@linkcode ConnectOptions.extensions}); when the
 * server agrees to one, RSV1 is accepted on the first frame of a message and
 * messages are reported with their `compressed` flag and their bytes as
 * sent (`deflate_peer.ts` inflates them).
 *
 * @module
 */

import assert from "node:assert/strict";
import { FrameParser, type ParserEvent } from "../../lib/protocol/parser.ts";
import { concat } from "../helpers/bytes.ts";

/** Opcodes, including the reserved ones a case may send on purpose. */
export const Op = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", {
  fatal: true,
  ignoreBOM: true,
});
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Bytes from a string (UTF-8) or bytes as they are. */
export function bytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Hex of bytes, for messages; long inputs are cut. */
export function toHex(data: Uint8Array, max = 64): string {
  const shown = [...data.subarray(0, max)]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return data.length > max ? `${shown}… (${data.length} bytes)` : shown;
}

/** A payload of `length` bytes repeating `pattern`. */
export function repeat(
  pattern: string | Uint8Array,
  length: number,
): Uint8Array {
  const unit = bytes(pattern);
  const out = new Uint8Array(length);
  if (length === 0) return out;
  out.set(unit.subarray(0, Math.min(unit.length, length)));
  let filled = Math.min(unit.length, length);
  while (filled < length) {
    const count = Math.min(filled, length - filled);
    out.copyWithin(filled, 0, count);
    filled += count;
  }
  return out;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One frame to build. Defaults make a final, masked, RSV-free frame. */
export interface FrameSpec {
  /** The 4-bit opcode, reserved ones included. */
  opcode: number;
  /** The payload, unmasked; strings are UTF-8. Default empty. */
  payload?: string | Uint8Array;
  /** The FIN bit. Default `true`. */
  fin?: boolean;
  /**
   * The three RSV bits as Autobahn numbers them: 4 is RSV1, 2 is RSV2, 1 is
   * RSV3. Default 0.
   */
  rsv?: number;
  /** Whether to mask (clients must). Default `true`. */
  mask?: boolean;
  /** The masking key. Default: 4 random bytes. */
  maskKey?: Uint8Array;
}

/**
 * A message of `opcode` split into frames of `size` payload bytes (the last
 * one shorter), as a client that fragments automatically sends it.
 */
export function fragments(
  opcode: number,
  payload: Uint8Array,
  size: number,
): FrameSpec[] {
  const frames: FrameSpec[] = [];
  for (let at = 0; at < payload.length; at += size) {
    frames.push({
      opcode: at === 0 ? opcode : Op.Continuation,
      payload: payload.subarray(at, at + size),
      fin: at + size >= payload.length,
    });
  }
  return frames;
}

/** Encodes a frame as a client would put it on the wire. */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const payload = bytes(spec.payload ?? new Uint8Array(0));
  const masked = spec.mask ?? true;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
  const frame = new Uint8Array(headerLength + length);
  frame[0] = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 7) << 4 |
    (spec.opcode & 0xf);
  const maskBit = masked ? 0x80 : 0;
  if (lengthBytes === 0) frame[1] = maskBit | length;
  else if (lengthBytes === 2) {
    frame[1] = maskBit | 126;
    frame[2] = length >>> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = maskBit | 127;
    const view = new DataView(frame.buffer);
    view.setUint32(2, Math.floor(length / 0x1_0000_0000));
    view.setUint32(6, length >>> 0);
  }
  frame.set(payload, headerLength);
  if (masked) {
    const key = spec.maskKey ?? crypto.getRandomValues(new Uint8Array(4));
    assert.equal(key.length, 4, "a masking key is 4 bytes");
    frame.set(key, 2 + lengthBytes);
    maskInPlace(frame.subarray(headerLength), key);
  }
  return frame;
}

/** XORs `data` with the 4-byte key, in place. */
export function maskInPlace(data: Uint8Array, key: Uint8Array): void {
  const length = data.length;
  let i = 0;
  if (length >= 64) {
    // Bytes up to a 4-byte aligned address, then whole words.
    const head = (4 - (data.byteOffset & 3)) & 3;
    for (; i < head; i++) data[i] = data[i]! ^ key[i & 3]!;
    const rotated = new Uint8Array(4);
    for (let k = 0; k < 4; k++) rotated[k] = key[(head + k) & 3]!;
    const word = new Uint32Array(rotated.buffer)[0]!;
    const words = new Uint32Array(
      data.buffer,
      data.byteOffset + head,
      (length - head) >>> 2,
    );
    for (let w = 0; w < words.length; w++) words[w] = words[w]! ^ word;
    i = head + words.length * 4;
  }
  for (; i < length; i++) data[i] = data[i]! ^ key[i & 3]!;
}

/** The payload of a close frame: nothing without a code. */
export function closePayload(
  code?: number,
  reason: string | Uint8Array = "",
): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const reasonBytes = bytes(reason);
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

/** A frame as found in the raw bytes the server sent. */
export interface RawFrame {
  fin: boolean;
  /** The RSV bits, 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The payload (unmasked if it was masked). */
  payload: Uint8Array;
  /** The frame's bytes on the wire. */
  wire: Uint8Array;
}

/**
 * Splits raw bytes into frames without judging them. `rest` holds bytes
 * that do not make a whole frame.
 */
export function splitFrames(
  data: Uint8Array,
): { frames: RawFrame[]; rest: Uint8Array } {
  const frames: RawFrame[] = [];
  let at = 0;
  while (at + 2 <= data.length) {
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (at + 4 > data.length) break;
      length = (data[at + 2]! << 8) | data[at + 3]!;
      header = 4;
    } else if (length === 127) {
      if (at + 10 > data.length) break;
      const view = new DataView(data.buffer, data.byteOffset + at + 2, 8);
      length = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
      header = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked) header += 4;
    if (at + header + length > data.length) break;
    const payload = data.slice(at + header, at + header + length);
    if (masked) {
      maskInPlace(payload, data.subarray(at + header - 4, at + header));
    }
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0xf,
      masked,
      payload,
      wire: data.subarray(at, at + header + length),
    });
    at += header + length;
  }
  return { frames, rest: data.subarray(at) };
}

/** What the peer observed, in arrival order. `at` is ms since connect. */
export type PeerEvent =
  | {
    kind: "message";
    /** 1 for text, 2 for binary. */
    opcode: number;
    /** The payload bytes as sent: still compressed when `compressed`. */
    data: Uint8Array;
    /** RSV1 was set on its first frame (only once an extension was agreed). */
    compressed: boolean;
    /** How many frames carried it. */
    frames: number;
    at: number;
  }
  | { kind: "ping"; data: Uint8Array; at: number }
  | { kind: "pong"; data: Uint8Array; at: number }
  | {
    kind: "close";
    /** `undefined` for an empty close frame. */
    code: number | undefined;
    reason: string;
    payload: Uint8Array;
    at: number;
  }
  /** The server sent bytes the client-role parser rejects. */
  | { kind: "invalid"; error: Error; at: number }
  /** The server closed TCP (`reset` when it was a reset, not a FIN). */
  | { kind: "eof"; reset: boolean; at: number };

/** How to write bytes. */
export interface WriteOptions {
  /**
   * Cut the bytes before writing: a number writes chunks of that size, an
   * array gives the cut points (offsets into the bytes).
   */
  chop?: number | readonly number[];
  /** Pause between chunks, in ms. Default 0 (but each chunk is its own write). */
  delayMs?: number;
}

/** Options of {@linkcode Peer.connect}. */
export interface ConnectOptions {
  port: number;
  hostname?: string;
  path?: string;
  /** Extra header lines for the handshake. */
  headers?: readonly string[];
  /**
   * Offers extensions: each value is sent as its own
   * `Sec-WebSocket-Extensions` line. The server may then answer with one
   * ({@linkcode Peer.extensions}); without this option it must not.
   */
  extensions?: string | readonly string[];
  /** Bytes sent in the same write as the handshake request (frames early). */
  head?: Uint8Array;
  /** How long the handshake may take. Default 5000 ms. */
  timeoutMs?: number;
}

/** Default wait for one expected event. */
export const DEFAULT_TIMEOUT = 3000;

/**
 * A raw WebSocket client. Create with {@linkcode Peer.connect}; always
 * `await peer.dispose()` (it is idempotent).
 */
export class Peer {
  readonly #conn: Deno.TcpConn;
  readonly #start = performance.now();
  readonly #parser: FrameParser;
  readonly #extensions: string | undefined;
  readonly #events: PeerEvent[] = [];
  #waiter: (() => void) | undefined;
  #received: Uint8Array[] = [];
  #parts: Uint8Array[] = [];
  #opcode = 0;
  #frames = 0;
  #compressed = false;
  #parserDead = false;
  #reading: Promise<void>;
  #disposed = false;
  #eof: PeerEvent | undefined;
  /** Every event so far, including those already taken. */
  readonly log: PeerEvent[] = [];
  /** Errors of writes the server no longer took (after it closed). */
  readonly writeErrors: Error[] = [];

  private constructor(
    conn: Deno.TcpConn,
    initial: Uint8Array,
    extensions: string | undefined,
  ) {
    this.#conn = conn;
    this.#extensions = extensions;
    this.#parser = new FrameParser({
      role: "client",
      maxMessageSize: Infinity,
      maxFragments: Infinity,
      allowRsv1: extensions !== undefined,
    });
    this.#reading = this.#readLoop(initial);
  }

  /**
   * The server's `Sec-WebSocket-Extensions` answer, or `undefined` when it
   * agreed to none.
   */
  get extensions(): string | undefined {
    return this.#extensions;
  }

  /** Connects, runs the opening handshake and checks the 101 answer. */
  static async connect(options: ConnectOptions): Promise<Peer> {
    const {
      port,
      hostname = "127.0.0.1",
      path = "/ws",
      headers = [],
      extensions,
      head,
      timeoutMs = 5000,
    } = options;
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    const offers = extensions === undefined
      ? []
      : typeof extensions === "string"
      ? [extensions]
      : extensions;
    const key = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    );
    const request = encoder.encode(
      [
        `GET ${path} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${key}`,
        "Sec-WebSocket-Version: 13",
        ...headers,
        ...offers.map((offer) => `Sec-WebSocket-Extensions: ${offer}`),
        "",
        "",
      ].join("\r\n"),
    );
    const timer = setTimeout(() => conn.close(), timeoutMs);
    try {
      await writeAll(
        conn,
        head === undefined ? request : concat([request, head]),
      );
      let buffered = new Uint8Array(0);
      let end = -1;
      while (end < 0) {
        const chunk = new Uint8Array(4096);
        const n = await conn.read(chunk);
        if (n === null) {
          throw new Error("the server closed during the handshake");
        }
        buffered = concat([buffered, chunk.subarray(0, n)]);
        end = indexOfHeadEnd(buffered);
      }
      clearTimeout(timer);
      const headText = new TextDecoder().decode(buffered.subarray(0, end));
      const [statusLine = "", ...lines] = headText.split("\r\n");
      assert.match(
        statusLine,
        /^HTTP\/1\.1 101 /,
        `handshake refused: ${statusLine}`,
      );
      const fields = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        fields.append(
          line.slice(0, colon).trim(),
          line.slice(colon + 1).trim(),
        );
      }
      assert.equal(fields.get("upgrade")?.toLowerCase(), "websocket");
      assert.match(fields.get("connection") ?? "", /upgrade/i);
      assert.equal(fields.get("sec-websocket-accept"), await acceptFor(key));
      const agreed = fields.get("sec-websocket-extensions") ?? undefined;
      if (extensions === undefined) {
        assert.equal(
          agreed,
          undefined,
          "no extension was offered, so none may be agreed",
        );
      }
      return new Peer(conn, buffered.slice(end + 4), agreed);
    } catch (error) {
      clearTimeout(timer);
      try {
        conn.close();
      } catch {
        // Closed by the timer.
      }
      throw error;
    }
  }

  /** Milliseconds since the connection was made. */
  now(): number {
    return performance.now() - this.#start;
  }

  /** Every byte the server sent after the 101 head. */
  get received(): Uint8Array {
    if (this.#received.length > 1) {
      this.#received = [concat(this.#received)];
    }
    return this.#received[0] ?? new Uint8Array(0);
  }

  /** The frames in {@linkcode received}, split without judging them. */
  rawFrames(): { frames: RawFrame[]; rest: Uint8Array } {
    return splitFrames(this.received);
  }

  /** Whether the server has closed TCP. */
  get eof(): boolean {
    return this.#eof !== undefined;
  }

  // ---- sending --------------------------------------------------------------

  /** Writes raw bytes, optionally chopped and paced. Write errors are recorded, not thrown. */
  async write(data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const { chop, delayMs = 0 } = options;
    const cuts: number[] = [];
    if (typeof chop === "number") {
      for (let at = chop; at < data.length; at += chop) cuts.push(at);
    } else if (chop !== undefined) {
      cuts.push(...chop.filter((at) => at > 0 && at < data.length));
    }
    let start = 0;
    for (const end of [...cuts, data.length]) {
      if (start > 0 && delayMs > 0) await delay(delayMs);
      try {
        await writeAll(this.#conn, data.subarray(start, end));
      } catch (error) {
        this.writeErrors.push(error as Error);
        return;
      }
      start = end;
    }
  }

  /** Sends one frame. */
  sendFrame(spec: FrameSpec, options?: WriteOptions): Promise<void> {
    return this.write(encodeFrame(spec), options);
  }

  /** Sends several frames as one byte string (chopped as asked). */
  sendFrames(
    specs: readonly FrameSpec[],
    options?: WriteOptions,
  ): Promise<void> {
    return this.write(concat(specs.map(encodeFrame)), options);
  }

  /** Sends a whole text message in one frame. */
  sendText(text: string | Uint8Array, options?: WriteOptions): Promise<void> {
    return this.sendFrame({ opcode: Op.Text, payload: text }, options);
  }

  /** Sends a whole binary message in one frame. */
  sendBinary(data: Uint8Array, options?: WriteOptions): Promise<void> {
    return this.sendFrame({ opcode: Op.Binary, payload: data }, options);
  }

  /** Sends a ping. */
  ping(
    payload: string | Uint8Array = "",
    options?: WriteOptions,
  ): Promise<void> {
    return this.sendFrame({ opcode: Op.Ping, payload }, options);
  }

  /** Sends a close frame: empty without a code. */
  sendClose(
    code?: number,
    reason: string | Uint8Array = "",
    options?: WriteOptions,
  ): Promise<void> {
    return this.sendFrame(
      { opcode: Op.Close, payload: closePayload(code, reason) },
      options,
    );
  }

  // ---- observing ------------------------------------------------------------

  /** The next event, waiting up to `timeoutMs`; throws on timeout. */
  async next(
    timeoutMs = DEFAULT_TIMEOUT,
    what = "an event",
  ): Promise<PeerEvent> {
    const event = await this.#take(timeoutMs);
    if (event === undefined) {
      throw new Error(
        `expected ${what} within ${timeoutMs} ms, got nothing; ${this.describe()}`,
      );
    }
    return event;
  }

  /** Asserts that nothing arrives (no frame, no EOF) within `ms`. */
  async expectNothing(ms: number): Promise<void> {
    const event = await this.#take(ms);
    if (event !== undefined) {
      throw new Error(
        `expected nothing for ${ms} ms, got ${
          describeEvent(event)
        }; ${this.describe()}`,
      );
    }
  }

  /**
   * Expects the next event to be a whole message with exactly this content;
   * a string expects text, bytes expect binary unless `type` says otherwise.
   */
  async expectMessage(
    expected: string | Uint8Array,
    options: { type?: "text" | "binary"; timeoutMs?: number } = {},
  ): Promise<PeerEvent & { kind: "message" }> {
    const type = options.type ??
      (typeof expected === "string" ? "text" : "binary");
    const want = bytes(expected);
    const event = await this.next(
      options.timeoutMs,
      `a ${type} message of ${want.length} bytes`,
    );
    if (event.kind !== "message") {
      throw new Error(
        `expected a ${type} message of ${want.length} bytes, got ${
          describeEvent(event)
        }; ${this.describe()}`,
      );
    }
    assert.equal(
      event.opcode,
      type === "text" ? Op.Text : Op.Binary,
      `message type: expected ${type}, got opcode ${event.opcode}`,
    );
    assert.equal(
      event.compressed,
      false,
      "the message came compressed (RSV1): inflate it (deflate_peer.ts)",
    );
    assert.equal(event.data.length, want.length, "message length");
    if (!equalBytes(event.data, want)) {
      assert.fail(
        `message content differs: got ${toHex(event.data)}, expected ${
          toHex(want)
        }`,
      );
    }
    return event;
  }

  /** Expects the next event to be a pong carrying `payload`. */
  async expectPong(
    payload: string | Uint8Array = "",
    timeoutMs?: number,
  ): Promise<void> {
    const want = bytes(payload);
    const event = await this.next(timeoutMs, "a pong");
    if (event.kind !== "pong") {
      throw new Error(
        `expected a pong, got ${describeEvent(event)}; ${this.describe()}`,
      );
    }
    assert.ok(
      equalBytes(event.data, want),
      `pong payload: got ${toHex(event.data)}, expected ${toHex(want)}`,
    );
  }

  /**
   * Expects the next event to be the server's close frame. `codes`: one
   * code or several accepted ones; `null` expects an empty close frame;
   * `undefined` accepts any valid one. With `reply` (default) the peer
   * answers it, echoing the code as Autobahn does. The reason must be valid
   * UTF-8 of at most 123 bytes, and the close frame must be the last frame.
   */
  async expectClose(
    codes?: number | readonly number[] | null,
    options: { reply?: boolean; timeoutMs?: number; reason?: string } = {},
  ): Promise<PeerEvent & { kind: "close" }> {
    const event = await this.next(options.timeoutMs, "a close frame");
    if (event.kind !== "close") {
      throw new Error(
        `expected a close frame${
          codes === undefined ? "" : ` (${codes === null ? "empty" : codes})`
        }, got ${describeEvent(event)}; ${this.describe()}`,
      );
    }
    if (codes === null) {
      assert.equal(
        event.payload.length,
        0,
        `expected an empty close frame, got code ${event.code} "${event.reason}"`,
      );
    } else if (codes !== undefined) {
      const accepted = typeof codes === "number" ? [codes] : codes;
      assert.ok(
        event.code !== undefined && accepted.includes(event.code),
        `close code: got ${
          event.code ?? "none (empty close)"
        } "${event.reason}", expected ${accepted.join(" or ")}`,
      );
    }
    if (options.reason !== undefined) {
      assert.equal(event.reason, options.reason, "close reason");
    }
    if (options.reply ?? true) {
      await this.sendClose(event.code, options.reason ?? "");
    }
    return event;
  }

  /**
   * Expects the server to close TCP within `timeoutMs`, with nothing else
   * arriving first, and checks that the close frame was the last bytes sent.
   */
  async expectEof(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const event = await this.next(timeoutMs, "the server to close TCP");
    if (event.kind !== "eof") {
      throw new Error(
        `expected the server to close TCP, got ${
          describeEvent(event)
        }; ${this.describe()}`,
      );
    }
    const { frames, rest } = this.rawFrames();
    assert.equal(
      rest.length,
      0,
      `bytes after the last whole frame: ${toHex(rest)}`,
    );
    assertServerFrames(frames, this.#extensions !== undefined);
    const closes = frames.filter((frame) => frame.opcode === Op.Close);
    if (closes.length > 0) {
      assert.equal(
        closes.length,
        1,
        "the server sent more than one close frame",
      );
      assert.equal(
        frames.at(-1)!.opcode,
        Op.Close,
        "the server sent frames after its close frame",
      );
    }
  }

  /**
   * The usual end of a case where the connection is still healthy: this
   * side closes with `code`, the server echoes it (an empty close for an
   * empty close) and closes TCP.
   */
  async closeHandshake(
    code: number | undefined = 1000,
    reason = "",
  ): Promise<void> {
    await this.sendClose(code, reason);
    const event = await this.expectClose(code === undefined ? null : code, {
      reply: false,
      reason,
    });
    assert.equal(event.reason, reason);
    await this.expectEof();
  }

  /**
   * The usual end of a case where the server must fail the connection: its
   * close frame with one of `codes`, then TCP closed, and nothing else.
   */
  async expectFailure(codes: number | readonly number[]): Promise<void> {
    await this.expectClose(codes);
    await this.expectEof();
  }

  /** A summary of what was seen, for error messages. */
  describe(): string {
    const seen = this.log.map(describeEvent).join(", ") || "nothing";
    return `seen so far: [${seen}]; raw tail: ${
      toHex(this.received.slice(-48))
    }`;
  }

  /** Closes the connection (if still open) and waits for the reader. Idempotent. */
  async dispose(): Promise<void> {
    if (!this.#disposed) {
      this.#disposed = true;
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.#reading;
  }

  // ---- internals ------------------------------------------------------------

  #take(timeoutMs: number): Promise<PeerEvent | undefined> {
    const ready = this.#events.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    assert.equal(this.#waiter, undefined, "only one wait at a time");
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.#waiter = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve(this.#events.shift());
      };
    });
  }

  #emit(event: PeerEvent): void {
    this.log.push(event);
    this.#events.push(event);
    this.#waiter?.();
  }

  async #readLoop(initial: Uint8Array): Promise<void> {
    if (initial.length > 0) this.#onBytes(initial);
    let reset = false;
    try {
      while (true) {
        const buffer = new Uint8Array(64 * 1024);
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        this.#onBytes(buffer.subarray(0, n));
      }
    } catch (error) {
      if (this.#disposed) return;
      reset = !(error instanceof Deno.errors.BadResource);
    }
    if (this.#disposed) return;
    this.#eof = { kind: "eof", reset, at: this.now() };
    this.#emit(this.#eof);
    this.#disposed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  #onBytes(chunk: Uint8Array): void {
    this.#received.push(chunk.slice());
    if (this.#parserDead) return;
    try {
      this.#parser.push(chunk, this.#onParserEvent);
    } catch (error) {
      this.#parserDead = true;
      this.#emit({ kind: "invalid", error: error as Error, at: this.now() });
    }
  }

  readonly #onParserEvent = (event: ParserEvent): void => {
    const at = this.now();
    switch (event.kind) {
      case "data":
        if (event.messageStart) {
          this.#parts = [];
          this.#frames = 0;
          this.#opcode = event.type === "text" ? Op.Text : Op.Binary;
          this.#compressed = event.compressed;
        }
        if (event.frameStart) this.#frames++;
        this.#parts.push(event.data.slice());
        if (event.messageEnd) {
          this.#emit({
            kind: "message",
            opcode: this.#opcode,
            data: concat(this.#parts),
            compressed: this.#compressed,
            frames: this.#frames,
            at,
          });
          this.#parts = [];
        }
        return;
      case "ping":
        this.#emit({ kind: "ping", data: event.data.slice(), at });
        return;
      case "pong":
        this.#emit({ kind: "pong", data: event.data.slice(), at });
        return;
      case "close": {
        // The parser checked the code and the reason; keep the raw payload.
        const { frames } = splitFrames(this.received);
        const close = frames.findLast((frame) => frame.opcode === Op.Close);
        const payload = close?.payload ?? new Uint8Array(0);
        this.#emit({
          kind: "close",
          code: payload.length === 0 ? undefined : event.code,
          reason: event.reason,
          payload,
          at,
        });
      }
    }
  };
}

/**
 * Checks what the client-role parser does not: every server frame uses the
 * shortest length encoding (RFC 6455 section 5.2: "the minimal number of
 * bytes MUST be used"). The parser already rejects masked frames, RSV bits,
 * reserved opcodes and long or fragmented control frames. With `rsv1`
 * (permessage-deflate agreed) RSV1 may be set on the first frame of a
 * message, and on no other frame (RFC 7692 section 6).
 */
export function assertServerFrames(
  frames: readonly RawFrame[],
  rsv1 = false,
): void {
  for (const [index, frame] of frames.entries()) {
    const length = frame.payload.length;
    const header = frame.wire.length - length;
    const minimal = 2 + (length < 126 ? 0 : length < 0x10000 ? 2 : 8);
    assert.equal(
      header,
      minimal,
      `server frame ${index} (opcode ${frame.opcode}, ${length} bytes) has a ${header}-byte header, not the minimal ${minimal}`,
    );
    assert.equal(frame.masked, false, `server frame ${index} is masked`);
    const firstOfMessage = frame.opcode === Op.Text ||
      frame.opcode === Op.Binary;
    if (rsv1 && firstOfMessage) {
      assert.equal(
        frame.rsv & 3,
        0,
        `server frame ${index} has RSV2 or RSV3 set`,
      );
    } else {
      assert.equal(
        frame.rsv,
        0,
        `server frame ${index} (opcode ${frame.opcode}) has RSV bits`,
      );
    }
  }
}

/** A one-line description of an event. */
export function describeEvent(event: PeerEvent): string {
  const at = `@${event.at.toFixed(0)}ms`;
  switch (event.kind) {
    case "message":
      return `${
        event.opcode === Op.Text ? "text" : "binary"
      } message of ${event.data.length} bytes${
        event.compressed ? " compressed" : ""
      } (${event.frames} frame(s)) ${
        event.opcode === Op.Text && !event.compressed && event.data.length <= 40
          ? JSON.stringify(strictDecoder.decode(event.data))
          : toHex(event.data, 16)
      } ${at}`;
    case "ping":
    case "pong":
      return `${event.kind} ${toHex(event.data, 16)} ${at}`;
    case "close":
      return `close ${event.code ?? "(empty)"} ${
        JSON.stringify(event.reason)
      } ${at}`;
    case "invalid":
      return `INVALID server bytes: ${event.error.message} ${at}`;
    case "eof":
      return `${event.reset ? "TCP reset" : "TCP closed (EOF)"} ${at}`;
  }
}

/** Whether two byte arrays are equal. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await conn.write(data.subarray(offset));
  }
}

function indexOfHeadEnd(data: Uint8Array): number {
  for (let i = 0; i + 3 < data.length; i++) {
    if (
      data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 &&
      data[i + 3] === 10
    ) return i;
  }
  return -1;
}

async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + GUID),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
