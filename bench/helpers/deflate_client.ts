/**
 * The client side of permessage-deflate (RFC 7692) for the benchmarks'
 * raw-TCP clients (`bench/echo_load.ts`, `bench/idle_memory.ts`), and the
 * JSON-like payloads they compress. Not part of socketry: a benchmark client
 * only, kept cheap and the same for every server.
 *
 * - {@linkcode DEFLATE_OFFER}: the plain offer (no parameters: context
 *   takeover both ways, 15-bit windows), what Firefox sends and what Chrome's
 *   `permessage-deflate; client_max_window_bits` amounts to.
 * - {@linkcode parseDeflateResponse}: reads the server's
 *   `Sec-WebSocket-Extensions` answer; throws when the server did not agree.
 * - {@linkcode SyncDeflater} / {@linkcode SyncInflater}: one zlib stream each,
 *   driven synchronously through the handle's `writeSync` (the call
 *   `node:zlib`'s own sync functions make, but without closing the handle
 *   after one use), so that the context survives from message to message
 *   without a promise or a stream event per message. Raw DEFLATE, sync flush;
 *   the deflater strips the trailing `00 00 ff ff`, the inflater appends it.
 * - {@linkcode makeJsonMessages}: JSON objects of exactly `size` ASCII bytes,
 *   each different (ids, timestamps, names, items, prices, hex traces), from a
 *   fixed seed: compressible like real traffic, not trivially.
 *
 * @module
 */

import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  type DeflateRaw,
  type InflateRaw,
} from "node:zlib";

/** What the benchmark clients offer: permessage-deflate, no parameters. */
export const DEFLATE_OFFER = "permessage-deflate";

/** The empty stored block ending every sync flush (RFC 7692 section 7.2.1). */
const TRAILER = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** The parameters a server agreed to, as the client must honour them. */
export interface AgreedDeflate {
  /** The server's whole answer, as sent. */
  readonly response: string;
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  /** 8 to 15; 15 when not given. */
  readonly serverMaxWindowBits: number;
  /** 8 to 15; 15 when not given. */
  readonly clientMaxWindowBits: number;
}

/**
 * Reads the `Sec-WebSocket-Extensions` value of a 101 response to
 * {@linkcode DEFLATE_OFFER}.
 *
 * @throws {Error} when the header is missing (the server declined
 * compression) or is not a single valid permessage-deflate answer.
 */
export function parseDeflateResponse(
  header: string | undefined,
): AgreedDeflate {
  if (header === undefined || header.trim() === "") {
    throw new Error(
      "the server did not negotiate permessage-deflate (no Sec-WebSocket-Extensions in its 101)",
    );
  }
  const elements = header.split(",");
  if (elements.length !== 1) {
    throw new Error(`the server agreed to several extensions: ${header}`);
  }
  const [name, ...params] = elements[0]!.split(";").map((part) => part.trim());
  if (name!.toLowerCase() !== "permessage-deflate") {
    throw new Error(`the server agreed to ${name}, not permessage-deflate`);
  }
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = false;
  let serverMaxWindowBits = 15;
  let clientMaxWindowBits = 15;
  const bits = (text: string | undefined) => {
    const value = Number(text?.replace(/^"|"$/g, ""));
    if (!(Number.isInteger(value) && value >= 8 && value <= 15)) {
      throw new Error(`bad window bits in ${header}`);
    }
    return value;
  };
  for (const param of params) {
    const [key, value] = param.split("=").map((part) => part.trim());
    switch (key!.toLowerCase()) {
      case "server_no_context_takeover":
        serverNoContextTakeover = true;
        break;
      case "client_no_context_takeover":
        clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        serverMaxWindowBits = bits(value);
        break;
      case "client_max_window_bits":
        clientMaxWindowBits = bits(value);
        break;
      default:
        throw new Error(`unknown parameter ${key} in ${header}`);
    }
  }
  return {
    response: header.trim(),
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits,
    clientMaxWindowBits,
  };
}

/** The part of a `node:zlib` stream's native handle used here. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  reset(): void;
}

/** A zlib stream driven synchronously; output lands in a reused buffer. */
class SyncZlib {
  readonly #stream: DeflateRaw | InflateRaw;
  readonly #handle: ZlibHandle;
  /** `[avail_out, avail_in]` after each `writeSync`. */
  readonly #state: Uint32Array;
  /** The output of the last call, valid until the next. */
  output: Uint8Array;

  constructor(stream: DeflateRaw | InflateRaw, outputSize: number) {
    const internals = stream as unknown as {
      _handle?: ZlibHandle;
      _writeState?: Uint32Array;
    };
    if (
      typeof internals._handle?.writeSync !== "function" ||
      !(internals._writeState instanceof Uint32Array)
    ) {
      throw new Error(
        "node:zlib has no synchronous handle (_handle.writeSync, _writeState) in this runtime",
      );
    }
    this.#stream = stream;
    this.#handle = internals._handle;
    this.#state = internals._writeState;
    this.output = new Uint8Array(outputSize);
  }

  /**
   * Feeds `input[0, length)` with a sync flush; returns how many bytes of
   * output are in {@linkcode SyncZlib.output}, growing it as needed.
   */
  protected run(input: Uint8Array, length: number): number {
    let inOffset = 0;
    let inLength = length;
    let produced = 0;
    while (true) {
      const room = this.output.byteLength - produced;
      this.#handle.writeSync(
        constants.Z_SYNC_FLUSH,
        input,
        inOffset,
        inLength,
        this.output,
        produced,
        room,
      );
      const availOut = this.#state[0]!;
      const availIn = this.#state[1]!;
      produced += room - availOut;
      inOffset += inLength - availIn;
      inLength = availIn;
      if (availOut !== 0) return produced;
      const bigger = new Uint8Array(this.output.byteLength * 2);
      bigger.set(this.output.subarray(0, produced));
      this.output = bigger;
    }
  }

  protected resetContext(): void {
    this.#handle.reset();
  }

  /** Frees the zlib handle. */
  close(): void {
    this.#stream.close();
  }
}

/** Compresses messages with one DEFLATE context kept across messages. */
export class SyncDeflater extends SyncZlib {
  readonly #noContextTakeover: boolean;

  /** `windowBits` 8 is raised to 9 (zlib cannot deflate with 8, as socketry and ws do). */
  constructor(windowBits = 15, noContextTakeover = false) {
    super(
      createDeflateRaw({
        windowBits: Math.max(9, windowBits),
        level: constants.Z_DEFAULT_COMPRESSION,
        memLevel: 8,
      }),
      16 * 1024,
    );
    this.#noContextTakeover = noContextTakeover;
  }

  /**
   * The compressed payload of one whole message: sync-flushed, the trailing
   * `00 00 ff ff` removed. A view of {@linkcode SyncZlib.output}, valid until
   * the next call.
   */
  deflate(message: Uint8Array): Uint8Array {
    if (message.byteLength === 0) return TRAILER.subarray(0, 1); // 00
    const produced = this.run(message, message.byteLength);
    const output = this.output;
    if (
      produced < 4 || output[produced - 4] !== 0 ||
      output[produced - 3] !== 0 || output[produced - 2] !== 0xff ||
      output[produced - 1] !== 0xff
    ) {
      throw new Error("zlib's sync flush did not end with 00 00 ff ff");
    }
    if (this.#noContextTakeover) this.resetContext();
    return output.subarray(0, produced - 4);
  }
}

/** Inflates a peer's messages with one context kept across messages. */
export class SyncInflater extends SyncZlib {
  #input = new Uint8Array(16 * 1024);

  constructor(expectedSize = 16 * 1024) {
    super(createInflateRaw({ windowBits: 15 }), Math.max(4096, expectedSize));
  }

  /**
   * The message one compressed payload (a whole message's, trailer
   * stripped) inflates to. A view of {@linkcode SyncZlib.output}, valid
   * until the next call.
   *
   * @throws {Error} for data that is not valid DEFLATE.
   */
  inflate(payload: Uint8Array): Uint8Array {
    const length = payload.byteLength + TRAILER.byteLength;
    if (length > this.#input.byteLength) {
      this.#input = new Uint8Array(Math.max(length, 2 * this.#input.length));
    }
    this.#input.set(payload);
    this.#input.set(TRAILER, payload.byteLength);
    const produced = this.run(this.#input, length);
    return this.output.subarray(0, produced);
  }
}

/** Some words, names and values the JSON messages are made of. */
const WORDS = (
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima " +
  "mike november oscar papa quebec romeo sierra tango uniform victor " +
  "whiskey xray yankee zulu order cart user session payment invoice " +
  "shipment warehouse review comment message channel status pending " +
  "active closed refunded delivered express standard priority basket"
).split(" ");
const FIRST_NAMES = [
  "Ada",
  "Grace",
  "Linus",
  "Barbara",
  "Ken",
  "Margaret",
  "Dennis",
  "Frances",
  "Edsger",
  "Radia",
];
const LAST_NAMES = [
  "Lovelace",
  "Hopper",
  "Torvalds",
  "Liskov",
  "Thompson",
  "Hamilton",
  "Ritchie",
  "Allen",
  "Dijkstra",
  "Perlman",
];
const EVENTS = [
  "order.created",
  "order.updated",
  "cart.changed",
  "chat.message",
  "user.presence",
  "metrics.sample",
  "invoice.paid",
  "shipment.moved",
];
const LOCALES = ["en-GB", "fr-FR", "de-DE", "ja-JP", "pt-BR", "es-ES"];
const CURRENCIES = ["EUR", "USD", "GBP", "JPY"];

/**
 * `count` JSON texts of exactly `size` bytes (ASCII), all different, the
 * same on every run (a fixed-seed xorshift). Each is an event with an id, a
 * timestamp, a user, a list of items and some metadata, its `note` field
 * padded with words to reach `size`; below ~200 bytes the text is a prefix
 * of such an object ("JSON-like", no longer parseable).
 */
export function makeJsonMessages(size: number, count: number): string[] {
  let state = 0x2545f491;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const pick = <T>(list: readonly T[]) => list[next() % list.length]!;
  const hex = (digits: number) => {
    let text = "";
    for (let i = 0; i < digits; i++) text += (next() & 15).toString(16);
    return text;
  };
  const two = (n: number) => String(n).padStart(2, "0");
  const messages: string[] = [];
  for (let m = 0; m < count; m++) {
    const items: Record<string, unknown>[] = [];
    const event: Record<string, unknown> = {
      id: 100000 + (next() % 900000),
      type: pick(EVENTS),
      ts: `2025-03-${two(1 + next() % 28)}T${two(next() % 24)}:${
        two(next() % 60)
      }:${two(next() % 60)}.${String(next() % 1000).padStart(3, "0")}Z`,
      user: {
        id: `u_${hex(12)}`,
        name: `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`,
        locale: pick(LOCALES),
        premium: (next() & 1) === 1,
        score: Math.round((next() % 100000) / 7) / 100,
      },
      items,
      meta: {
        region: `${pick(["eu", "us", "ap"])}-${
          pick(["west", "east", "north"])
        }-${1 + next() % 3}`,
        latencyMs: next() % 900,
        retries: next() % 4,
        trace: hex(32),
        tags: [pick(WORDS), pick(WORDS), pick(WORDS)],
      },
      note: "",
    };
    // Items while they fit, leaving room for a few words of note.
    let length = JSON.stringify(event).length;
    while (true) {
      const item = {
        sku: `SKU-${String(next() % 100000).padStart(5, "0")}`,
        title: `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`,
        qty: 1 + next() % 9,
        price: (next() % 100000) / 100,
        currency: pick(CURRENCIES),
        inStock: (next() & 3) !== 0,
      };
      length += JSON.stringify(item).length + (items.length > 0 ? 1 : 0);
      if (length > size - 24 && items.length > 0) break;
      items.push(item);
    }
    const base = JSON.stringify(event);
    let text: string;
    if (base.length > size) text = base.slice(0, size);
    else {
      let note = "";
      while (note.length < size - base.length) note += `${pick(WORDS)} `;
      event.note = note.slice(0, size - base.length);
      text = JSON.stringify(event);
    }
    messages.push(text);
  }
  return messages;
}
