/**
 * A DEFLATE decoder (RFC 1951) written for the permessage-deflate
 * conformance cases, independent of zlib (which the server uses): it decodes
 * one message's payload as RFC 7692 section 7.2.2 says (the payload with
 * `00 00 ff ff` appended) and, unlike zlib, checks every back-reference
 * against the agreed window exactly: a distance beyond `2^windowBits`, or
 * into a previous message when context takeover is off, is an error. zlib
 * cannot check that, since it uses its output buffer as window and accepts
 * any distance into bytes it has produced in the same call.
 *
 * A straightforward port of the decoding loop of zlib's `contrib/puff`
 * (canonical Huffman decoding bit by bit): slow next to zlib, fast enough
 * for the few MiB a case inflates.
 *
 * @module
 */

/** The base length of each length code (257–285), RFC 1951 section 3.2.5. */
export const LENGTH_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LENGTH_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
/** The base distance of each distance code (0–29), RFC 1951 section 3.2.5. */
export const DISTANCE_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DISTANCE_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const CODE_LENGTH_ORDER = [
  16,
  17,
  18,
  0,
  8,
  7,
  9,
  6,
  10,
  5,
  11,
  4,
  12,
  3,
  13,
  2,
  14,
  1,
  15,
];
const TRAILER = [0x00, 0x00, 0xff, 0xff];
const MAX_WINDOW = 1 << 15;

/** A canonical Huffman code: how many codes of each length, symbols by code. */
interface Huffman {
  count: Int16Array;
  symbol: Int16Array;
}

/** Builds a code from code lengths; `undefined` when over-subscribed. */
function buildHuffman(lengths: ArrayLike<number>): Huffman | undefined {
  const count = new Int16Array(16);
  for (let i = 0; i < lengths.length; i++) count[lengths[i]!]!++;
  if (count[0] === lengths.length) return { count, symbol: new Int16Array(0) };
  let left = 1;
  for (let length = 1; length < 16; length++) {
    left <<= 1;
    left -= count[length]!;
    if (left < 0) return undefined;
  }
  const offsets = new Int16Array(16);
  for (let length = 1; length < 15; length++) {
    offsets[length + 1] = offsets[length]! + count[length]!;
  }
  const symbol = new Int16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i]!;
    if (length !== 0) symbol[offsets[length]!++] = i;
  }
  return { count, symbol };
}

const FIXED_LITERALS = buildHuffman(
  Array.from(
    { length: 288 },
    (_, i) => i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8,
  ),
)!;
const FIXED_DISTANCES = buildHuffman(new Array(30).fill(5))!;

/** A payload the decoder refused, with why. */
export class InflateError extends Error {
  override name = "InflateError";
}

/** What one message inflated to. */
export interface Inflated {
  data: Uint8Array;
  /** The longest back-reference distance used (0: none). */
  maxDistance: number;
  /** The longest distance that reached into an earlier message (0: none). */
  maxDistanceIntoHistory: number;
  /** Block types seen, in order: 0 stored, 1 fixed, 2 dynamic. */
  blocks: number[];
  /** The message ended with a block that had BFINAL set. */
  final: boolean;
}

/**
 * Inflates the messages of one direction of a connection, in order, with
 * the agreed window size and context takeover.
 */
export class StrictInflater {
  readonly windowBits: number;
  readonly noContextTakeover: boolean;
  /** The last bytes of earlier messages: the window a new message starts with. */
  #history: Uint8Array = new Uint8Array(0);

  constructor(windowBits: number, noContextTakeover: boolean) {
    if (
      !(Number.isInteger(windowBits) && windowBits >= 8 && windowBits <= 15)
    ) {
      throw new RangeError(`windowBits must be 8 to 15; got ${windowBits}`);
    }
    this.windowBits = windowBits;
    this.noContextTakeover = noContextTakeover;
  }

  /**
   * Inflates one message from its payload (all frames' payloads joined),
   * appending `00 00 ff ff`; an empty payload is an empty message. Throws {@linkcode InflateError} for anything
   * that is not valid DEFLATE within the window.
   */
  inflate(payload: Uint8Array): Inflated {
    if (payload.length === 0) {
      // `00 00 ff ff` alone is an unfinished stored block: nothing, as zlib.
      return {
        data: new Uint8Array(0),
        maxDistance: 0,
        maxDistanceIntoHistory: 0,
        blocks: [],
        final: false,
      };
    }
    const input = new Uint8Array(payload.length + 4);
    input.set(payload);
    input.set(TRAILER, payload.length);
    const history = this.noContextTakeover ? new Uint8Array(0) : this.#history;
    const decoder = new Decoder(input, history, 1 << this.windowBits);
    const result = decoder.run();
    if (!this.noContextTakeover) {
      // A final block ends the stream: the next message starts afresh.
      this.#history = result.final
        ? new Uint8Array(0)
        : decoder.tail(MAX_WINDOW);
    }
    return result;
  }
}

class Decoder {
  readonly #input: Uint8Array;
  #position = 0;
  #bitBuffer = 0;
  #bitCount = 0;
  #output: Uint8Array;
  #length: number;
  readonly #start: number;
  readonly #window: number;
  #maxDistance = 0;
  #maxIntoHistory = 0;
  #blocks: number[] = [];

  constructor(input: Uint8Array, history: Uint8Array, window: number) {
    this.#input = input;
    this.#window = window;
    this.#output = new Uint8Array(Math.max(1024, history.length * 2));
    this.#output.set(history);
    this.#length = history.length;
    this.#start = history.length;
  }

  run(): Inflated {
    let final = false;
    // A message ends with a block boundary at the end of the input (the
    // appended empty stored block), or with a BFINAL block.
    while (!final && !this.#atEnd()) {
      final = this.#bits(1) === 1;
      const type = this.#bits(2);
      this.#blocks.push(type);
      if (type === 0) this.#stored();
      else if (type === 1) this.#codes(FIXED_LITERALS, FIXED_DISTANCES);
      else if (type === 2) this.#dynamic();
      else throw new InflateError("invalid block type 3");
    }
    return {
      data: this.#output.slice(this.#start, this.#length),
      maxDistance: this.#maxDistance,
      maxDistanceIntoHistory: this.#maxIntoHistory,
      blocks: this.#blocks,
      final,
    };
  }

  /** The last `size` bytes of the window after this message. */
  tail(size: number): Uint8Array {
    return this.#output.slice(Math.max(0, this.#length - size), this.#length);
  }

  // At the end: no whole byte left, and the bits left in the buffer are
  // only the padding of the last byte.
  #atEnd(): boolean {
    return this.#position >= this.#input.length && this.#bitCount < 8 &&
      this.#bitBuffer === 0;
  }

  #bits(need: number): number {
    let value = this.#bitBuffer;
    while (this.#bitCount < need) {
      if (this.#position >= this.#input.length) {
        throw new InflateError(
          "the payload ends inside a block (even with 00 00 ff ff appended)",
        );
      }
      value |= this.#input[this.#position++]! << this.#bitCount;
      this.#bitCount += 8;
    }
    this.#bitBuffer = value >>> need;
    this.#bitCount -= need;
    return value & ((1 << need) - 1);
  }

  #stored(): void {
    this.#bitBuffer = 0;
    this.#bitCount = 0;
    if (this.#position + 4 > this.#input.length) {
      throw new InflateError("the payload ends inside a stored block header");
    }
    const input = this.#input;
    const at = this.#position;
    const length = input[at]! | (input[at + 1]! << 8);
    const check = input[at + 2]! | (input[at + 3]! << 8);
    if (length !== (~check & 0xffff)) {
      throw new InflateError(
        `stored block length ${length} does not match its complement ${check}`,
      );
    }
    this.#position = at + 4;
    if (this.#position + length > input.length) {
      throw new InflateError("the payload ends inside a stored block");
    }
    this.#reserve(length);
    this.#output.set(
      input.subarray(this.#position, this.#position + length),
      this.#length,
    );
    this.#length += length;
    this.#position += length;
  }

  #decode(code: Huffman): number {
    let value = 0;
    let first = 0;
    let index = 0;
    for (let length = 1; length < 16; length++) {
      value |= this.#bits(1);
      const count = code.count[length]!;
      if (value - count < first) return code.symbol[index + (value - first)]!;
      index += count;
      first += count;
      first <<= 1;
      value <<= 1;
    }
    throw new InflateError("a Huffman code matches no symbol");
  }

  #codes(literals: Huffman, distances: Huffman): void {
    while (true) {
      const symbol = this.#decode(literals);
      if (symbol < 256) {
        this.#reserve(1);
        this.#output[this.#length++] = symbol;
        continue;
      }
      if (symbol === 256) return;
      const lengthCode = symbol - 257;
      if (lengthCode >= 29) {
        throw new InflateError(`invalid length symbol ${symbol}`);
      }
      const length = LENGTH_BASE[lengthCode]! +
        this.#bits(LENGTH_EXTRA[lengthCode]!);
      const distanceCode = this.#decode(distances);
      if (distanceCode >= 30) {
        throw new InflateError(`invalid distance symbol ${distanceCode}`);
      }
      const distance = DISTANCE_BASE[distanceCode]! +
        this.#bits(DISTANCE_EXTRA[distanceCode]!);
      if (distance > this.#window) {
        throw new InflateError(
          `distance ${distance} is beyond the agreed ${this.#window}-byte window`,
        );
      }
      if (distance > this.#length) {
        throw new InflateError(
          `distance ${distance} reaches before the start of the data (${
            this.#length - this.#start
          } bytes of this message, ${this.#start} of earlier ones in the window)`,
        );
      }
      if (distance > this.#maxDistance) this.#maxDistance = distance;
      const intoHistory = distance - (this.#length - this.#start);
      if (intoHistory > 0 && distance > this.#maxIntoHistory) {
        this.#maxIntoHistory = distance;
      }
      this.#reserve(length);
      const output = this.#output;
      let from = this.#length - distance;
      let to = this.#length;
      for (let i = 0; i < length; i++) output[to++] = output[from++]!;
      this.#length = to;
    }
  }

  #dynamic(): void {
    const literalCount = this.#bits(5) + 257;
    const distanceCount = this.#bits(5) + 1;
    const codeCount = this.#bits(4) + 4;
    if (literalCount > 286 || distanceCount > 30) {
      throw new InflateError("too many length or distance codes");
    }
    const lengths = new Uint8Array(19);
    for (let i = 0; i < codeCount; i++) {
      lengths[CODE_LENGTH_ORDER[i]!] = this.#bits(3);
    }
    const lengthCode = buildHuffman(lengths);
    if (lengthCode === undefined) {
      throw new InflateError("over-subscribed code length code");
    }
    const all = new Uint8Array(literalCount + distanceCount);
    let index = 0;
    while (index < all.length) {
      let symbol = this.#decode(lengthCode);
      if (symbol < 16) {
        all[index++] = symbol;
        continue;
      }
      let repeat: number;
      if (symbol === 16) {
        if (index === 0) {
          throw new InflateError("a length repeat with no previous length");
        }
        symbol = all[index - 1]!;
        repeat = 3 + this.#bits(2);
      } else if (symbol === 17) {
        symbol = 0;
        repeat = 3 + this.#bits(3);
      } else {
        symbol = 0;
        repeat = 11 + this.#bits(7);
      }
      if (index + repeat > all.length) {
        throw new InflateError("code lengths repeat past the end");
      }
      all.fill(symbol, index, index + repeat);
      index += repeat;
    }
    if (all[256] === 0) {
      throw new InflateError("no code for the end-of-block symbol");
    }
    const literals = buildHuffman(all.subarray(0, literalCount));
    const distances = buildHuffman(all.subarray(literalCount));
    if (literals === undefined || distances === undefined) {
      throw new InflateError("over-subscribed literal or distance code");
    }
    this.#codes(literals, distances);
  }

  #reserve(more: number): void {
    const needed = this.#length + more;
    if (needed <= this.#output.length) return;
    let size = this.#output.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#output.subarray(0, this.#length));
    this.#output = grown;
  }
}
