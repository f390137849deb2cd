/**
 * permessage-deflate (RFC 7692) for the conformance peer: building offers,
 * reading the server's answer independently of `lib/`, compressing the
 * peer's messages with `node:zlib` raw DEFLATE (sync flush, `00 00 ff ff`
 * stripped, the agreed client window, a fresh compressor per message when
 * `client_no_context_takeover` was agreed and one kept across messages
 * otherwise), and inflating the server's with {@linkcode StrictInflater},
 * which holds them to the agreed server window and context takeover.
 *
 * Also: deterministic payloads for the cases, a tiny fixed-Huffman encoder
 * for hand-made DEFLATE data, and {@linkcode deflateConformance}, which
 * runs a case against the echo with compression on and a peer that offered.
 *
 * @module
 */

import assert from "node:assert/strict";
import { constants, createDeflateRaw, type DeflateRaw } from "node:zlib";
import {
  type CaseOptions,
  conformance,
  type EchoServer,
} from "./echo_server.ts";
import {
  describeEvent,
  equalBytes,
  type FrameSpec,
  Op,
  type Peer,
  type PeerEvent,
  type RawFrame,
  toHex,
} from "./peer.ts";
import {
  DISTANCE_BASE,
  type Inflated,
  LENGTH_BASE,
  StrictInflater,
} from "./strict_inflate.ts";
import { concat } from "../helpers/bytes.ts";
import { mulberry32 } from "../helpers/random.ts";

/** What `connect(url, { deflate: true })` and browsers offer. */
export const DEFAULT_OFFER = "permessage-deflate; client_max_window_bits";

/** The four permessage-deflate parameters of an offer; absent when unset. */
export interface Offer {
  serverMaxWindowBits?: number;
  /** `true`: the parameter without a value. */
  clientMaxWindowBits?: number | true;
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
}

/** The `Sec-WebSocket-Extensions` element for `offer`. */
export function offerHeader(offer: Offer): string {
  const parts = ["permessage-deflate"];
  if (offer.serverNoContextTakeover) parts.push("server_no_context_takeover");
  if (offer.clientNoContextTakeover) parts.push("client_no_context_takeover");
  if (offer.serverMaxWindowBits !== undefined) {
    parts.push(`server_max_window_bits=${offer.serverMaxWindowBits}`);
  }
  if (offer.clientMaxWindowBits === true) parts.push("client_max_window_bits");
  else if (offer.clientMaxWindowBits !== undefined) {
    parts.push(`client_max_window_bits=${offer.clientMaxWindowBits}`);
  }
  return parts.join("; ");
}

/** What both sides agreed, as the peer reads the server's answer. */
export interface Agreed {
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** The answer's parameters, by name: a value, or `true` for none. */
  params: Map<string, string | true>;
}

const KNOWN = new Set([
  "server_no_context_takeover",
  "client_no_context_takeover",
  "server_max_window_bits",
  "client_max_window_bits",
]);

/**
 * Reads the server's answer (RFC 7692 section 7): exactly one
 * permessage-deflate element, known parameters once each, flags without a
 * value, window bits 8 to 15. `offered` is the client's own limit on its
 * window (a `client_max_window_bits` value it offered), which holds even if
 * the answer does not repeat it.
 */
export function readAnswer(answer: string, offered: Offer = {}): Agreed {
  const elements = answer.split(",");
  assert.equal(elements.length, 1, `one extension agreed, got "${answer}"`);
  const [name, ...rest] = elements[0]!.split(";").map((part) => part.trim());
  assert.equal(name, "permessage-deflate", `the agreed extension: ${answer}`);
  const params = new Map<string, string | true>();
  for (const part of rest) {
    const equals = part.indexOf("=");
    const key = (equals < 0 ? part : part.slice(0, equals)).trim();
    let value: string | true = true;
    if (equals >= 0) {
      value = part.slice(equals + 1).trim().replace(/^"(.*)"$/, "$1");
    }
    assert.ok(KNOWN.has(key), `unknown parameter ${key} in "${answer}"`);
    assert.ok(!params.has(key), `parameter ${key} repeated in "${answer}"`);
    params.set(key, value);
  }
  const bits = (key: string): number | undefined => {
    const value = params.get(key);
    if (value === undefined) return undefined;
    assert.ok(
      typeof value === "string" && /^(?:[89]|1[0-5])$/.test(value),
      `${key} needs a value from 8 to 15 in a response, got "${answer}"`,
    );
    return Number(value);
  };
  for (
    const flag of ["server_no_context_takeover", "client_no_context_takeover"]
  ) {
    assert.ok(
      (params.get(flag) ?? true) === true,
      `${flag} must not have a value: "${answer}"`,
    );
  }
  const serverBits = bits("server_max_window_bits") ?? 15;
  const offeredClient = typeof offered.clientMaxWindowBits === "number"
    ? offered.clientMaxWindowBits
    : 15;
  const clientBits = Math.min(
    bits("client_max_window_bits") ?? 15,
    offeredClient,
  );
  return {
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
    serverNoContextTakeover: params.has("server_no_context_takeover"),
    clientNoContextTakeover: params.has("client_no_context_takeover") ||
      offered.clientNoContextTakeover === true,
    params,
  };
}

/**
 * The peer's side of permessage-deflate: a `node:zlib` compressor for its
 * messages and a {@linkcode StrictInflater} for the server's.
 */
export class PeerDeflate {
  readonly agreed: Agreed;
  /** Inflates the server's messages, in order. */
  readonly inflater: StrictInflater;
  #stream: DeflateRaw | undefined;

  constructor(agreed: Agreed) {
    this.agreed = agreed;
    this.inflater = new StrictInflater(
      agreed.serverMaxWindowBits,
      agreed.serverNoContextTakeover,
    );
  }

  /**
   * Compresses one message in `pieces` (default: one), each sync-flushed:
   * every piece keeps its `00 00 ff ff` but the last. zlib cannot deflate
   * with an 8-bit window, so 8 agreed bits deflate with 9: zlib keeps its
   * distances within the window minus 262 bytes (250), inside 256.
   */
  async compress(
    data: Uint8Array,
    pieces: readonly number[] = [],
  ): Promise<Uint8Array[]> {
    const stream = this.#stream ??= createDeflateRaw({
      windowBits: Math.max(this.agreed.clientMaxWindowBits, 9),
    });
    const cuts = [0, ...pieces, data.length];
    const out: Uint8Array[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      out.push(await flushed(stream, data.subarray(cuts[i]!, cuts[i + 1]!)));
    }
    const last = out.at(-1)!;
    assert.deepEqual(
      [...last.subarray(-4)],
      [0, 0, 0xff, 0xff],
      "zlib's sync flush ends with 00 00 ff ff",
    );
    out[out.length - 1] = last.subarray(0, last.length - 4);
    if (this.agreed.clientNoContextTakeover) this.#dropStream();
    return out;
  }

  /** Compresses one message as one payload. */
  async compressWhole(data: Uint8Array): Promise<Uint8Array> {
    return (await this.compress(data))[0]!;
  }

  /** Frees zlib. Idempotent. */
  close(): void {
    this.#dropStream();
  }

  #dropStream(): void {
    this.#stream?.close();
    this.#stream = undefined;
  }
}

function flushed(stream: DeflateRaw, data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const onData = (chunk: Uint8Array) => chunks.push(chunk);
    const onError = (error: unknown) => {
      stream.off("data", onData);
      reject(error);
    };
    stream.on("data", onData);
    stream.once("error", onError);
    stream.write(data);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off("data", onData);
      stream.off("error", onError);
      resolve(concat(chunks));
    });
  });
}

/**
 * The frames of one compressed message: `payload` cut into frames of at
 * most `frameSize` bytes (Autobahn's auto-fragmentation), RSV1 on the first
 * only, and `between` (say, a ping) after the first frame when the message
 * has more than one.
 */
export function compressedFrames(
  opcode: number,
  payload: Uint8Array,
  options: { frameSize?: number; between?: FrameSpec } = {},
): FrameSpec[] {
  const { frameSize = Infinity, between } = options;
  const frames: FrameSpec[] = [];
  let at = 0;
  do {
    const end = Math.min(payload.length, at + frameSize);
    frames.push({
      opcode: at === 0 ? opcode : Op.Continuation,
      payload: payload.subarray(at, end),
      fin: end === payload.length,
      rsv: at === 0 ? 4 : 0,
    });
    at = end;
  } while (at < payload.length);
  if (between !== undefined && frames.length > 1) {
    frames.splice(1, 0, between);
  }
  return frames;
}

/** The frames of one message whose pieces were compressed (and flushed) apart. */
export function piecewiseFrames(
  opcode: number,
  pieces: readonly Uint8Array[],
): FrameSpec[] {
  return pieces.map((payload, index) => ({
    opcode: index === 0 ? opcode : Op.Continuation,
    payload,
    fin: index === pieces.length - 1,
    rsv: index === 0 ? 4 : 0,
  }));
}

/** Compresses `data` whole and sends it as one frame, or several. */
export async function sendCompressed(
  peer: Peer,
  deflate: PeerDeflate,
  data: string | Uint8Array,
  options: { type?: "text" | "binary"; frameSize?: number } = {},
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const type = options.type ?? (typeof data === "string" ? "text" : "binary");
  const payload = await deflate.compressWhole(bytes);
  await peer.sendFrames(
    compressedFrames(type === "text" ? Op.Text : Op.Binary, payload, options),
  );
}

/**
 * Expects the next event to be a compressed message (RSV1) of `expected`'s
 * type that inflates, within the agreed window, to exactly `expected`.
 */
export async function expectCompressed(
  peer: Peer,
  deflate: PeerDeflate,
  expected: string | Uint8Array,
  options: { type?: "text" | "binary"; timeoutMs?: number } = {},
): Promise<Inflated> {
  const want = typeof expected === "string"
    ? encoder.encode(expected)
    : expected;
  const type = options.type ??
    (typeof expected === "string" ? "text" : "binary");
  const event: PeerEvent = await peer.next(
    options.timeoutMs,
    `a compressed ${type} message of ${want.length} bytes`,
  );
  if (event.kind !== "message") {
    throw new Error(
      `expected a compressed ${type} message of ${want.length} bytes, got ${
        describeEvent(event)
      }; ${peer.describe()}`,
    );
  }
  assert.equal(
    event.opcode,
    type === "text" ? Op.Text : Op.Binary,
    `message type: expected ${type}, got opcode ${event.opcode}`,
  );
  assert.ok(
    event.compressed,
    `expected RSV1 (compressed) on the echo of ${want.length} bytes`,
  );
  let inflated: Inflated;
  try {
    inflated = deflate.inflater.inflate(event.data);
  } catch (error) {
    throw new Error(
      `the server's compressed message of ${event.data.length} bytes does not inflate with a ${
        2 ** deflate.agreed.serverMaxWindowBits
      }-byte window${
        deflate.agreed.serverNoContextTakeover
          ? " starting empty (server_no_context_takeover)"
          : ""
      }: ${(error as Error).message}; payload ${toHex(event.data)}`,
    );
  }
  assert.equal(inflated.data.length, want.length, "inflated length");
  if (!equalBytes(inflated.data, want)) {
    assert.fail(
      `inflated content differs: got ${toHex(inflated.data)}, expected ${
        toHex(want)
      }`,
    );
  }
  return inflated;
}

/**
 * Checks every server frame so far against RFC 7692 section 6: RSV1 only
 * on the first frame of a data message, never on a continuation or control
 * frame, RSV2 and RSV3 never. With `allCompressed` (threshold 0, the
 * default) every data message starts with RSV1.
 */
export function assertDeflateFrames(
  frames: readonly RawFrame[],
  allCompressed = true,
): void {
  for (const [index, frame] of frames.entries()) {
    const what =
      `server frame ${index} (opcode ${frame.opcode}, ${frame.payload.length} bytes)`;
    assert.equal(frame.rsv & 3, 0, `${what} has RSV2 or RSV3`);
    if (frame.opcode === Op.Text || frame.opcode === Op.Binary) {
      if (allCompressed) assert.equal(frame.rsv, 4, `${what} lacks RSV1`);
    } else {
      assert.equal(frame.rsv, 0, `${what} has RSV1`);
    }
  }
}

/** The echo with compression on (as `--compression`) and a peer offering `offer`. */
export interface DeflateCaseOptions {
  /** The `Sec-WebSocket-Extensions` offer. Default {@linkcode DEFAULT_OFFER}. */
  offer?: string | readonly string[];
  /** The peer's own limits from the offer, for {@linkcode readAnswer}. */
  offered?: Offer;
  /** Listener options over `{ dangerouslyEnableCompression: true }`. */
  server?: CaseOptions["server"];
}

/**
 * Registers one case with compression agreed: the server must answer the
 * offer with a permessage-deflate element; `fn` gets the peer's codec for
 * the agreed parameters, freed afterwards.
 */
export function deflateConformance(
  name: string,
  fn: (peer: Peer, deflate: PeerDeflate, server: EchoServer) => Promise<void>,
  options: DeflateCaseOptions = {},
): void {
  conformance(
    name,
    async (peer, server) => {
      assert.ok(
        peer.extensions !== undefined,
        `the server declined the offer ${JSON.stringify(options.offer)}`,
      );
      const deflate = new PeerDeflate(
        readAnswer(peer.extensions, options.offered),
      );
      try {
        await fn(peer, deflate, server);
      } finally {
        deflate.close();
      }
    },
    {
      server: { dangerouslyEnableCompression: true, ...options.server },
      connect: { extensions: options.offer ?? DEFAULT_OFFER },
    },
  );
}

// ---- hand-made DEFLATE -------------------------------------------------------

/** A literal byte or a back-reference, for {@linkcode fixedHuffman}. */
export type Token = number | { length: number; distance: number };

class BitWriter {
  readonly bytes: number[] = [];
  #buffer = 0;
  #count = 0;

  /** Writes `count` bits of `value`, least significant first. */
  bits(value: number, count: number): void {
    for (let i = 0; i < count; i++) {
      this.#buffer |= ((value >>> i) & 1) << this.#count;
      if (++this.#count === 8) this.#flushByte();
    }
  }

  /** Writes a Huffman code of `length` bits, most significant first. */
  code(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bits((code >>> i) & 1, 1);
  }

  /** Pads to a byte boundary with zeros. */
  align(): void {
    if (this.#count > 0) this.#flushByte();
  }

  #flushByte(): void {
    this.bytes.push(this.#buffer);
    this.#buffer = 0;
    this.#count = 0;
  }
}

function literalCode(writer: BitWriter, symbol: number): void {
  if (symbol < 144) writer.code(0x30 + symbol, 8);
  else if (symbol < 256) writer.code(0x190 + symbol - 144, 9);
  else if (symbol < 280) writer.code(symbol - 256, 7);
  else writer.code(0xc0 + symbol - 280, 8);
}

function lastIndexAtMost(table: readonly number[], value: number): number {
  let index = table.length - 1;
  while (table[index]! > value) index--;
  return index;
}

/**
 * One fixed-Huffman block (BFINAL clear) holding `tokens`, followed by what
 * a sync flush adds before its `00 00 ff ff`: the header of an empty stored
 * block, padded to a byte. That is a permessage-deflate payload as a sender
 * puts it on the wire, with full control over the distances used.
 */
export function fixedHuffman(tokens: readonly Token[]): Uint8Array {
  const writer = new BitWriter();
  writer.bits(0, 1);
  writer.bits(1, 2);
  for (const token of tokens) {
    if (typeof token === "number") {
      literalCode(writer, token);
      continue;
    }
    const { length, distance } = token;
    assert.ok(length >= 3 && length <= 258, `length ${length}`);
    assert.ok(distance >= 1 && distance <= 32768, `distance ${distance}`);
    const lengthIndex = lastIndexAtMost(LENGTH_BASE, length);
    literalCode(writer, 257 + lengthIndex);
    const lengthExtra = lengthIndex < 8 || lengthIndex === 28
      ? 0
      : Math.floor((lengthIndex - 4) / 4);
    writer.bits(length - LENGTH_BASE[lengthIndex]!, lengthExtra);
    const distanceIndex = lastIndexAtMost(DISTANCE_BASE, distance);
    writer.code(distanceIndex, 5);
    const distanceExtra = distanceIndex < 4
      ? 0
      : Math.floor((distanceIndex - 2) / 2);
    writer.bits(distance - DISTANCE_BASE[distanceIndex]!, distanceExtra);
  }
  literalCode(writer, 256);
  // The empty stored block of the sync flush: BFINAL 0, BTYPE 00, padding.
  writer.bits(0, 3);
  writer.align();
  return Uint8Array.from(writer.bytes);
}

// ---- payloads ----------------------------------------------------------------

const encoder = new TextEncoder();

const NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"];

/** `size` bytes of JSON-like ASCII records (compresses well). */
export function jsonText(size: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(size);
  let at = 0;
  for (let id = 0; at < size; id++) {
    const record = encoder.encode(
      `{"id":${id},"name":"${NAMES[Math.floor(next() * NAMES.length)]}",` +
        `"score":${(next() * 1000).toFixed(2)},"tags":["${
          NAMES[Math.floor(next() * NAMES.length)]
        }","x${Math.floor(next() * 100)}"],"ok":${next() < 0.5}},\n`,
    );
    const take = Math.min(record.length, size - at);
    out.set(record.subarray(0, take), at);
    at += take;
  }
  return out;
}

const WORDS = [
  "the",
  "window",
  "Grüße",
  "Fuß",
  "κόσμε",
  "λόγος",
  "деревня",
  "日本語",
  "圧縮",
  "🙂",
  "𝄞",
  "déjà",
  "naïve",
  "deflate",
  "frame",
];
const WORD_BYTES = WORDS.map((word) => encoder.encode(word + " "));

/**
 * `size` bytes of valid UTF-8 prose in several scripts (1- to 4-byte
 * sequences), padded with ASCII to the exact size.
 */
export function proseText(size: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const word = WORD_BYTES[Math.floor(next() * WORD_BYTES.length)]!;
    if (at + word.length > size) {
      out.fill(0x2e, at);
      break;
    }
    out.set(word, at);
    at += word.length;
  }
  return out;
}

/** `size` bytes like an 8-bit greyscale image: gradients and some noise. */
export function imageBinary(size: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const x = i & 511;
    const y = i >>> 9;
    out[i] = (((x ^ y) >>> 2) + (next() < 0.2 ? Math.floor(next() * 8) : 0)) &
      0xff;
  }
  return out;
}

/** `size` pseudo-random bytes: incompressible, deflate ends up larger. */
export function randomBinary(size: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/** Decodes UTF-8 that is known to be valid. */
export function text(data: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(data);
}
