// Random and mutated frame streams, fed in random splits: the parser must
// either report events that obey the piece invariants or throw a
// WebSocketError with a valid close code, and never hold more than its
// buffer limit. Set FUZZ_SEED to replay a failing iteration.

import assert from "node:assert/strict";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import { isValidCloseCode } from "../../lib/protocol/close_codes.ts";
import { encodeClosePayload, encodeFrame } from "../../lib/protocol/frame.ts";
import { Opcode } from "../../lib/protocol/opcodes.ts";
import {
  FrameParser,
  type FrameParserOptions,
  MAX_BUFFERED_BYTES,
  type Role,
} from "../../lib/protocol/parser.ts";
import { type FrameRecord, Recorder } from "./parser_helpers.ts";
import { concat } from "../helpers/bytes.ts";
import { Random } from "../helpers/random.ts";

const ITERATIONS = 3000;
const TIME_BUDGET_MS = 4000;
const STATUS_OF_CODE: Record<number, WebSocketStatus> = {
  1002: WebSocketStatus.ProtocolError,
  1007: WebSocketStatus.InvalidPayload,
  1008: WebSocketStatus.PolicyViolation,
  1009: WebSocketStatus.MessageTooBig,
};

const encoder = new TextEncoder();
// Code points of every UTF-8 length, and the edges of the surrogate gap.
const CODE_POINTS = [
  0x41,
  0x7f,
  0xe9,
  0x7ff,
  0x800,
  0x20ac,
  0xd7ff,
  0xe000,
  0xfffd,
  0x10000,
  0x1f389,
  0x10ffff,
];

interface Stream {
  bytes: Uint8Array;
  records: FrameRecord[];
}

function payloadLength(random: Random): number {
  const roll = random.next();
  return roll < 0.7
    ? random.int(0, 40)
    : roll < 0.99
    ? random.int(0, 400)
    : random.int(0, 70_000);
}

function validStream(random: Random, role: Role): Stream {
  const frames: Uint8Array[] = [];
  const records: FrameRecord[] = [];
  const add = (opcode: number, payload: Uint8Array, fin = true) =>
    frames.push(
      encodeFrame({
        fin,
        opcode,
        payload,
        mask: role === "server" ? random.bytes(4) : undefined,
      }),
    );
  const control = () => {
    const kind = random.pick(["ping", "pong"] as const);
    const data = random.bytes(random.int(0, 125));
    add(kind === "ping" ? Opcode.Ping : Opcode.Pong, data);
    records.push({ kind, data });
  };

  for (let messages = random.int(0, 5); messages > 0; messages--) {
    const type = random.pick(["text", "binary"] as const);
    const length = payloadLength(random);
    const payload = type === "binary" ? random.bytes(length) : encoder.encode(
      Array.from(
        { length: Math.ceil(length / 2) },
        () => String.fromCodePoint(random.pick(CODE_POINTS)),
      ).join(""),
    );
    // Cut points anywhere, inside characters included.
    const cuts = Array.from({
      length: random.int(0, random.chance(0.2) ? 12 : 3),
    }, () => random.int(0, payload.length))
      .sort((a, b) => a - b);
    const bounds = [0, ...cuts, payload.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      if (random.chance(0.15)) control();
      const data = payload.slice(bounds[i], bounds[i + 1]);
      const last = i + 2 === bounds.length;
      add(
        i === 0
          ? (type === "text" ? Opcode.Text : Opcode.Binary)
          : Opcode.Continuation,
        data,
        last,
      );
      records.push({
        kind: "data",
        type,
        data,
        messageStart: i === 0,
        messageEnd: last,
        compressed: false,
      });
    }
  }
  if (random.chance(0.3)) control();
  if (random.chance(0.4)) {
    const code = random.pick([undefined, 1000, 1001, 1011, 3000, 4999]);
    const reason = code === undefined ? "" : random.pick(["", "bye", "κόσμε"]);
    add(Opcode.Close, encodeClosePayload(code, reason));
    records.push({ kind: "close", code: code ?? 1005, reason });
  }
  return { bytes: concat(frames), records };
}

function mutate(random: Random, bytes: Uint8Array): Uint8Array {
  let result = bytes.slice();
  for (let count = random.int(1, 3); count > 0; count--) {
    const at = random.int(0, result.length);
    switch (random.int(0, 6)) {
      case 0: // flip a bit, often in a header-like early byte
        if (result.length > 0) {
          const index = random.chance(0.5)
            ? random.int(0, Math.min(15, result.length - 1))
            : random.int(0, result.length - 1);
          result[index] = result[index]! ^ (1 << random.int(0, 7));
        }
        break;
      case 1: // overwrite a byte
        if (at < result.length) result[at] = random.int(0, 255);
        break;
      case 2: // insert random bytes
        result = concat([
          result.subarray(0, at),
          random.bytes(random.int(1, 16)),
          result.subarray(at),
        ]);
        break;
      case 3: // delete a range
        result = concat([
          result.subarray(0, at),
          result.subarray(Math.min(result.length, at + random.int(1, 16))),
        ]);
        break;
      case 4: // truncate
        result = result.slice(0, at);
        break;
      case 5: // repeat a range
        result = concat([
          result.subarray(0, at),
          result.subarray(random.int(0, at), at),
          result.subarray(at),
        ]);
        break;
      default: // replace with noise that starts like a frame
        result = concat([
          Uint8Array.of(
            random.pick([0x01, 0x02, 0x81, 0x82, 0x88, 0x89, 0x8a, 0xc1]),
            random.int(0, 255),
          ),
          random.bytes(random.int(0, 64)),
        ]);
    }
  }
  return result;
}

function splits(random: Random, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  // Byte by byte only for short streams, to keep iterations quick.
  const mode = random.int(bytes.length > 2000 ? 1 : 0, 3);
  for (let start = 0; start < bytes.length;) {
    const size = mode === 0
      ? 1
      : mode === 1
      ? random.int(1, 8)
      : mode === 2
      ? random.int(1, 300)
      : random.int(0, bytes.length);
    chunks.push(bytes.slice(start, start + size));
    start += size;
  }
  return chunks;
}

// Feeds the chunks; returns the records or the WebSocketError, checking the
// buffer limit after every push and the dead state after a failure.
function run(
  options: FrameParserOptions,
  chunks: Uint8Array[],
): FrameRecord[] | WebSocketError {
  const parser = new FrameParser(options);
  const recorder = new Recorder();
  for (const chunk of chunks) {
    try {
      parser.push(chunk, recorder.onEvent);
    } catch (error) {
      assert.ok(
        error instanceof WebSocketError,
        `not a WebSocketError: ${error}`,
      );
      assert.ok(
        error.code !== undefined && isValidCloseCode(error.code),
        `close code ${error.code}`,
      );
      assert.equal(
        error.status,
        STATUS_OF_CODE[error.code],
        `status for ${error.code}`,
      );
      assert.throws(
        () => parser.push(Uint8Array.of(0x81), () => {}),
        (again) => again === error,
      );
      return error;
    }
    assert.ok(
      parser.bufferedBytes <= MAX_BUFFERED_BYTES,
      `buffered ${parser.bufferedBytes}`,
    );
  }
  return recorder.records;
}

Deno.test("FrameParser survives random and mutated streams in random splits", () => {
  const baseSeed = Number(Deno.env.get("FUZZ_SEED") ?? 0x50c3e7);
  const replay = Deno.env.has("FUZZ_SEED");
  const started = performance.now();
  let iteration = 0;
  const outcomes = { valid: 0, failed: 0, accepted: 0 };
  for (; iteration < (replay ? 1 : ITERATIONS); iteration++) {
    if (performance.now() - started > TIME_BUDGET_MS) break;
    const seed = (baseSeed + iteration) >>> 0;
    try {
      const random = new Random(seed);
      const role = random.pick(["server", "client"] as const);
      const stream = validStream(random, role);

      // Unmutated, with default limits: exactly the frames that were sent.
      const records = run({ role }, splits(random, stream.bytes));
      assert.ok(
        !(records instanceof WebSocketError),
        `valid stream failed: ${records}`,
      );
      assert.deepEqual(records, stream.records);
      outcomes.valid++;

      // Mutated, with random options and limits.
      const options: FrameParserOptions = {
        role: random.chance(0.9)
          ? role
          : (role === "server" ? "client" : "server"),
        allowRsv1: random.chance(0.3),
        ...(random.chance(0.4) ? { maxMessageSize: random.int(0, 500) } : {}),
        ...(random.chance(0.3) ? { maxFragments: random.int(1, 5) } : {}),
      };
      const mutated = random.chance(0.1)
        ? stream.bytes
        : mutate(random, stream.bytes);
      const outcome = run(options, splits(random, mutated));
      if (outcome instanceof WebSocketError) outcomes.failed++;
      else outcomes.accepted++;
    } catch (error) {
      throw new Error(`Fuzz failure: replay with FUZZ_SEED=${seed}`, {
        cause: error,
      });
    }
  }
  if (replay) return;
  assert.ok(iteration >= 200, `only ${iteration} iterations ran`);
  // Both outcomes were exercised.
  assert.ok(
    outcomes.failed > 0 && outcomes.accepted > 0,
    JSON.stringify(outcomes),
  );
});
