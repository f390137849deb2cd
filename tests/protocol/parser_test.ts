import assert from "node:assert/strict";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import { encodeFrame, type FrameOptions } from "../../lib/protocol/frame.ts";
import { Opcode } from "../../lib/protocol/opcodes.ts";
import {
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_MESSAGE_SIZE,
  FrameParser,
  type FrameParserOptions,
  MAX_BUFFERED_BYTES,
  type ParserEvent,
} from "../../lib/protocol/parser.ts";
import { type FrameRecord, parseChunks } from "./parser_helpers.ts";
import { concat, hex } from "../helpers/bytes.ts";

const encoder = new TextEncoder();
const KEY = hex("37 fa 21 3d");

// A frame as a client sends it (masked), for a server-role parser.
function fromClient(options: Omit<FrameOptions, "mask">): Uint8Array {
  return encodeFrame({ ...options, mask: KEY });
}

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

function parse(
  bytes: Uint8Array,
  options: Partial<FrameParserOptions> = {},
): FrameRecord[] {
  return parseChunks(new FrameParser({ role: "server", ...options }), [bytes]);
}

function message(
  type: "text" | "binary",
  data: Uint8Array,
  flags: Partial<
    { messageStart: boolean; messageEnd: boolean; compressed: boolean }
  > = {},
): FrameRecord {
  return {
    kind: "data",
    type,
    data,
    messageStart: flags.messageStart ?? true,
    messageEnd: flags.messageEnd ?? true,
    compressed: flags.compressed ?? false,
  };
}

// Asserts that parsing `bytes` (whole, then byte by byte) fails with this close code.
function assertFails(
  bytes: Uint8Array,
  code: number,
  options: Partial<FrameParserOptions> = {},
): WebSocketError {
  const status = {
    1002: WebSocketStatus.ProtocolError,
    1007: WebSocketStatus.InvalidPayload,
    1008: WebSocketStatus.PolicyViolation,
    1009: WebSocketStatus.MessageTooBig,
  }[code];
  let caught: unknown;
  for (const split of [false, true]) {
    const parser = new FrameParser({ role: "server", ...options });
    const chunks = split
      ? Array.from(bytes, (byte) => Uint8Array.of(byte))
      : [bytes];
    caught = undefined;
    try {
      parseChunks(parser, chunks);
    } catch (error) {
      caught = error;
    }
    assert.ok(
      caught instanceof WebSocketError,
      `expected a WebSocketError, got ${caught}`,
    );
    assert.equal(caught.code, code, caught.message);
    assert.equal(caught.status, status, caught.message);
  }
  return caught as WebSocketError;
}

Deno.test("FrameParser reads the RFC 6455 section 5.7 examples", () => {
  const client = () => new FrameParser({ role: "client" });
  assert.deepEqual(parseChunks(client(), [hex("81 05 48 65 6c 6c 6f")]), [
    message("text", text("Hello")),
  ]);
  assert.deepEqual(parse(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")), [
    message("text", text("Hello")),
  ]);
  assert.deepEqual(
    parseChunks(client(), [hex("01 03 48 65 6c 80 02 6c 6f")]),
    [
      message("text", text("Hel"), { messageEnd: false }),
      message("text", text("lo"), { messageStart: false }),
    ],
  );
  assert.deepEqual(parseChunks(client(), [hex("89 05 48 65 6c 6c 6f")]), [
    { kind: "ping", data: text("Hello") },
  ]);
  assert.deepEqual(parse(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")), [
    { kind: "pong", data: text("Hello") },
  ]);
  const binary256 = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(
    parseChunks(client(), [concat([hex("82 7e 01 00"), binary256])]),
    [message("binary", binary256)],
  );
  const binary64k = Uint8Array.from({ length: 65_536 }, (_, i) => i * 7);
  assert.deepEqual(
    parseChunks(client(), [
      concat([hex("82 7f 00 00 00 00 00 01 00 00"), binary64k]),
    ]),
    [message("binary", binary64k)],
  );
});

// Text in three fragments, split inside characters, with control frames
// between them; empty frames; every length form but the 64-bit one.
const STREAM = concat([
  fromClient({
    fin: false,
    opcode: Opcode.Text,
    payload: text("κό").subarray(0, 3),
  }),
  fromClient({ opcode: Opcode.Ping, payload: text("are you there?") }),
  fromClient({
    fin: false,
    opcode: Opcode.Continuation,
    payload: text("κόσμε").subarray(3, 7),
  }),
  fromClient({ opcode: Opcode.Pong, payload: new Uint8Array(0) }),
  fromClient({
    opcode: Opcode.Continuation,
    payload: text("κόσμε").subarray(7),
  }),
  fromClient({ opcode: Opcode.Binary, payload: new Uint8Array(0) }),
  fromClient({ opcode: Opcode.Text, payload: text("x".repeat(125)) }),
  fromClient({ fin: false, opcode: Opcode.Binary, payload: new Uint8Array(0) }),
  fromClient({
    opcode: Opcode.Continuation,
    payload: Uint8Array.from({ length: 300 }, (_, i) => i),
  }),
  fromClient({ opcode: Opcode.Ping, payload: new Uint8Array(125).fill(9) }),
  fromClient({ opcode: Opcode.Close, payload: hex("03 e8 62 79 65") }),
]);

const STREAM_RECORDS: FrameRecord[] = [
  message("text", text("κό").subarray(0, 3), { messageEnd: false }),
  { kind: "ping", data: text("are you there?") },
  message("text", text("κόσμε").subarray(3, 7), {
    messageStart: false,
    messageEnd: false,
  }),
  { kind: "pong", data: new Uint8Array(0) },
  message("text", text("κόσμε").subarray(7), { messageStart: false }),
  message("binary", new Uint8Array(0)),
  message("text", text("x".repeat(125))),
  message("binary", new Uint8Array(0), { messageEnd: false }),
  message("binary", Uint8Array.from({ length: 300 }, (_, i) => i), {
    messageStart: false,
  }),
  { kind: "ping", data: new Uint8Array(125).fill(9) },
  { kind: "close", code: 1000, reason: "bye" },
];

Deno.test("FrameParser gives the same frames for every split of a stream", () => {
  const server = () => new FrameParser({ role: "server" });
  assert.deepEqual(parseChunks(server(), [STREAM]), STREAM_RECORDS);
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const records = parseChunks(server(), [
      STREAM.subarray(0, cut),
      STREAM.subarray(cut),
    ]);
    assert.deepEqual(records, STREAM_RECORDS, `cut at ${cut}`);
  }
  const bytes = Array.from(STREAM, (byte) => Uint8Array.of(byte));
  assert.deepEqual(parseChunks(server(), bytes), STREAM_RECORDS);
});

Deno.test("FrameParser gives the same frames for every pair of cuts in the first frames", () => {
  const head = STREAM.subarray(0, 60);
  const server = () => new FrameParser({ role: "server" });
  const expected = parseChunks(server(), [head]);
  assert.ok(expected.length >= 3);
  for (let first = 0; first <= head.length; first++) {
    for (let second = first; second <= head.length; second++) {
      const chunks = [
        head.subarray(0, first),
        head.subarray(first, second),
        head.subarray(second),
      ];
      assert.deepEqual(
        parseChunks(server(), chunks),
        expected,
        `cuts at ${first}, ${second}`,
      );
    }
  }
});

Deno.test("FrameParser reads a 64-bit length frame in any split", () => {
  const payload = Uint8Array.from({ length: 70_000 }, (_, i) => i * 31);
  const stream = concat([
    fromClient({ opcode: Opcode.Binary, payload }),
    fromClient({ opcode: Opcode.Text, payload: text("after") }),
  ]);
  const expected = [message("binary", payload), message("text", text("after"))];
  for (let cut = 0; cut < stream.length; cut += cut < 20 ? 1 : 4099) {
    const parser = new FrameParser({ role: "server" });
    assert.deepEqual(
      parseChunks(parser, [stream.subarray(0, cut), stream.subarray(cut)]),
      expected,
      `cut at ${cut}`,
    );
  }
  const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
  assert.deepEqual(
    parseChunks(new FrameParser({ role: "server" }), bytes),
    expected,
  );
});

Deno.test("FrameParser streams a frame as pieces that view the pushed chunks", () => {
  const payload = Uint8Array.from({ length: 1000 }, (_, i) => i);
  const frame = fromClient({ opcode: Opcode.Binary, payload });
  const parser = new FrameParser({ role: "server" });
  const events: ParserEvent[] = [];
  const chunks = [frame.slice(0, 100), frame.slice(100, 600), frame.slice(600)];
  for (const chunk of chunks) parser.push(chunk, (event) => events.push(event));
  assert.equal(events.length, 3);
  for (const [i, event] of events.entries()) {
    assert.equal(event.kind, "data");
    if (event.kind !== "data") continue;
    assert.equal(event.data.buffer, chunks[i]!.buffer, "no copy");
    assert.equal(event.frameStart, i === 0);
    assert.equal(event.messageStart, i === 0);
    assert.equal(event.frameEnd, i === 2);
    assert.equal(event.messageEnd, i === 2);
  }
  assert.deepEqual(
    concat(
      events.map((event) =>
        event.kind === "data" ? event.data : new Uint8Array(0)
      ),
    ),
    payload,
  );
});

Deno.test("FrameParser rejects reserved bits without an extension", () => {
  for (const bits of [0x40, 0x20, 0x10]) {
    const frame = fromClient({ opcode: Opcode.Text, payload: text("a") });
    frame[0] = frame[0]! | bits;
    assertFails(frame, 1002);
  }
  const rsv2 = fromClient({
    opcode: Opcode.Text,
    payload: text("a"),
    rsv1: true,
  });
  rsv2[0] = rsv2[0]! | 0x20;
  assertFails(rsv2, 1002, { allowRsv1: true });
});

Deno.test("FrameParser with allowRsv1 marks a compressed message and leaves its text unchecked", () => {
  const stream = concat([
    fromClient({
      fin: false,
      rsv1: true,
      opcode: Opcode.Text,
      payload: hex("ff fe"),
    }),
    fromClient({ opcode: Opcode.Ping, payload: text("p") }),
    fromClient({ opcode: Opcode.Continuation, payload: hex("c3") }),
    fromClient({ opcode: Opcode.Text, payload: text("plain") }),
  ]);
  assert.deepEqual(parse(stream, { allowRsv1: true }), [
    message("text", hex("ff fe"), { messageEnd: false, compressed: true }),
    { kind: "ping", data: text("p") },
    message("text", hex("c3"), { messageStart: false, compressed: true }),
    message("text", text("plain")),
  ]);
  assertFails(
    concat([
      fromClient({
        fin: false,
        rsv1: true,
        opcode: Opcode.Binary,
        payload: text("a"),
      }),
      fromClient({
        rsv1: true,
        opcode: Opcode.Continuation,
        payload: text("b"),
      }),
    ]),
    1002,
    { allowRsv1: true },
  );
  assertFails(
    fromClient({ rsv1: true, opcode: Opcode.Ping, payload: text("a") }),
    1002,
    {
      allowRsv1: true,
    },
  );
});

Deno.test("FrameParser rejects reserved opcodes", () => {
  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    assertFails(fromClient({ opcode, payload: text("a") }), 1002);
  }
});

Deno.test("FrameParser rejects long or fragmented control frames", () => {
  for (const opcode of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
    assertFails(fromClient({ opcode, payload: new Uint8Array(126) }), 1002);
    assertFails(
      fromClient({ fin: false, opcode, payload: new Uint8Array(0) }),
      1002,
    );
  }
  assert.deepEqual(
    parse(fromClient({ opcode: Opcode.Ping, payload: new Uint8Array(125) })),
    [
      { kind: "ping", data: new Uint8Array(125) },
    ],
  );
});

Deno.test("FrameParser rejects continuation frames out of place", () => {
  assertFails(
    fromClient({ opcode: Opcode.Continuation, payload: text("a") }),
    1002,
  );
  assertFails(
    concat([
      fromClient({ opcode: Opcode.Text, payload: text("done") }),
      fromClient({ opcode: Opcode.Continuation, payload: text("a") }),
    ]),
    1002,
  );
  for (const opcode of [Opcode.Text, Opcode.Binary]) {
    assertFails(
      concat([
        fromClient({ fin: false, opcode: Opcode.Binary, payload: text("a") }),
        fromClient({ opcode, payload: text("b") }),
      ]),
      1002,
    );
  }
});

Deno.test("FrameParser requires the mask bit that matches its role", () => {
  assertFails(encodeFrame({ opcode: Opcode.Text, payload: text("a") }), 1002);
  const client = new FrameParser({ role: "client" });
  assert.throws(
    () =>
      parseChunks(client, [
        fromClient({ opcode: Opcode.Text, payload: text("a") }),
      ]),
    (error: unknown) => error instanceof WebSocketError && error.code === 1002,
  );
});

Deno.test("FrameParser rejects a 64-bit length with the top bit set", () => {
  assertFails(hex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d"), 1002);
  assertFails(hex("82 ff ff ff ff ff ff ff ff ff 37 fa 21 3d"), 1002);
});

Deno.test("FrameParser checks close frames", () => {
  assert.deepEqual(
    parse(fromClient({ opcode: Opcode.Close, payload: new Uint8Array(0) })),
    [
      { kind: "close", code: 1005, reason: "" },
    ],
  );
  assertFails(fromClient({ opcode: Opcode.Close, payload: hex("03") }), 1002);
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    const payload = Uint8Array.of(code >> 8, code & 0xff);
    assertFails(fromClient({ opcode: Opcode.Close, payload }), 1002);
  }
  assertFails(
    fromClient({ opcode: Opcode.Close, payload: hex("03 e8 ed a0 80") }),
    1007,
  );
});

Deno.test("FrameParser ignores everything after a close frame", () => {
  const parser = new FrameParser({ role: "server" });
  const records = parseChunks(parser, [
    concat([
      fromClient({ opcode: Opcode.Close, payload: hex("0f a0") }),
      hex("ff ff ff"),
    ]),
    fromClient({ opcode: Opcode.Text, payload: text("late") }),
  ]);
  assert.deepEqual(records, [{ kind: "close", code: 4000, reason: "" }]);
  assert.equal(parser.bufferedBytes, 0);
});

Deno.test("FrameParser rejects invalid UTF-8 in text messages with 1007", () => {
  assertFails(
    fromClient({
      opcode: Opcode.Text,
      payload: hex("ce ba e1 bd b9 ed a0 80"),
    }),
    1007,
  );
  assertFails(
    fromClient({ opcode: Opcode.Text, payload: hex("f4 90 80 80") }),
    1007,
  );
  assertFails(fromClient({ opcode: Opcode.Text, payload: hex("c0 af") }), 1007);
  assertFails(fromClient({ opcode: Opcode.Text, payload: hex("41 80") }), 1007);
  // Cut short at the end of the message, though every frame was fine so far.
  assertFails(
    concat([
      fromClient({ fin: false, opcode: Opcode.Text, payload: text("ok") }),
      fromClient({ opcode: Opcode.Continuation, payload: hex("e2 82") }),
    ]),
    1007,
  );
  // Invalid only across the fragment boundary.
  assertFails(
    concat([
      fromClient({ fin: false, opcode: Opcode.Text, payload: hex("41 f4") }),
      fromClient({ opcode: Opcode.Continuation, payload: hex("90 80 80") }),
    ]),
    1007,
  );
  // Binary messages are not text.
  assert.equal(
    parse(fromClient({ opcode: Opcode.Binary, payload: hex("ff") })).length,
    1,
  );
});

Deno.test("FrameParser fails on invalid UTF-8 mid-fragment, before the frame ends", () => {
  const payload = concat([
    text("κόσμε"),
    hex("ed a0 80"),
    new Uint8Array(100).fill(0x61),
  ]);
  const frame = fromClient({ fin: false, opcode: Opcode.Text, payload });
  const parser = new FrameParser({ role: "server" });
  const received: ParserEvent[] = [];
  parser.push(frame.slice(0, 6 + 11), (event) => received.push(event));
  assert.equal(received.length, 1, "the valid prefix was delivered");
  assert.throws(
    () =>
      parser.push(frame.slice(6 + 11, 6 + 13), (event) => received.push(event)),
    (error: unknown) => error instanceof WebSocketError && error.code === 1007,
  );
  assert.equal(received.length, 1, "the invalid piece was not delivered");
});

Deno.test("FrameParser fails as soon as the first two header bytes are wrong", () => {
  const parser = new FrameParser({ role: "server" });
  // A reserved opcode with a 64-bit length: the rest of the header never comes.
  parser.push(hex("83"), () => {});
  assert.throws(
    () => parser.push(hex("ff"), () => {}),
    (error: unknown) => error instanceof WebSocketError && error.code === 1002,
  );
});

Deno.test("FrameParser enforces maxMessageSize from the declared length", () => {
  const options = { maxMessageSize: 100 };
  assert.equal(
    parse(
      fromClient({ opcode: Opcode.Binary, payload: new Uint8Array(100) }),
      options,
    ).length,
    1,
  );
  // The header alone is enough to fail.
  const header = fromClient({
    opcode: Opcode.Binary,
    payload: new Uint8Array(101),
  }).subarray(0, 6);
  const error = assertFails(header, 1009, options);
  assert.match(error.message, /100/);
  assertFails(
    concat([
      fromClient({
        fin: false,
        opcode: Opcode.Text,
        payload: text("a".repeat(60)),
      }),
      fromClient({ opcode: Opcode.Ping, payload: new Uint8Array(100) }),
      fromClient({ opcode: Opcode.Continuation, payload: text("a".repeat(41)) })
        .subarray(0, 6),
    ]),
    1009,
    options,
  );
  // Each message counts from zero; control frames do not count.
  const records = parse(
    concat([
      fromClient({ opcode: Opcode.Text, payload: text("a".repeat(100)) }),
      fromClient({ opcode: Opcode.Ping, payload: new Uint8Array(125) }),
      fromClient({ opcode: Opcode.Text, payload: text("a".repeat(100)) }),
    ]),
    options,
  );
  assert.equal(records.length, 3);
  // The default is 64 MiB, and Infinity lifts the limit.
  const big = hex("82 ff 00 00 00 00 04 00 00 01 37 fa 21 3d");
  assertFails(big, 1009);
  assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 64 * 1024 * 1024);
  const unlimited = new FrameParser({
    role: "server",
    maxMessageSize: Infinity,
  });
  assert.deepEqual(parseChunks(unlimited, [big]), []);
});

Deno.test("FrameParser enforces maxFragments with 1008", () => {
  const fragments = (count: number) =>
    concat(
      Array.from({ length: count }, (_, i) =>
        fromClient({
          fin: i === count - 1,
          opcode: i === 0 ? Opcode.Binary : Opcode.Continuation,
          payload: new Uint8Array(0),
        })),
    );
  assert.equal(parse(fragments(3), { maxFragments: 3 }).length, 3);
  assertFails(fragments(4), 1008, { maxFragments: 3 });
  assert.equal(DEFAULT_MAX_FRAGMENTS, 65_536);
});

Deno.test("FrameParser delivers the events before a violation, then stays dead", () => {
  const parser = new FrameParser({ role: "server" });
  const received: ParserEvent[] = [];
  const stream = concat([
    fromClient({ opcode: Opcode.Text, payload: text("first") }),
    fromClient({ opcode: 3, payload: new Uint8Array(0) }),
  ]);
  let failure: unknown;
  try {
    parser.push(stream, (event) => received.push(event));
  } catch (error) {
    failure = error;
  }
  assert.ok(failure instanceof WebSocketError);
  assert.equal(received.length, 1);
  assert.throws(
    () => parser.push(hex("81"), () => {}),
    (error) => error === failure,
  );
  assert.throws(
    () => parser.push(new Uint8Array(0), () => {}),
    (error) => error === failure,
  );
});

Deno.test("FrameParser stops when its event handler throws", () => {
  const parser = new FrameParser({ role: "server" });
  const oops = new Error("handler bug");
  assert.throws(
    () =>
      parser.push(
        fromClient({ opcode: Opcode.Text, payload: text("a") }),
        () => {
          throw oops;
        },
      ),
    (error) => error === oops,
  );
  assert.throws(
    () =>
      parser.push(
        fromClient({ opcode: Opcode.Text, payload: text("b") }),
        () => {},
      ),
    (error: unknown) =>
      error instanceof WebSocketError && error.code === 1011 &&
      error.cause === oops,
  );
});

Deno.test("FrameParser holds only split headers and control payloads", () => {
  const parser = new FrameParser({ role: "server" });
  const ping = fromClient({
    opcode: Opcode.Ping,
    payload: new Uint8Array(125).fill(1),
  });
  const records: FrameRecord[] = [];
  const buffered: number[] = [];
  for (const cut of [[0, 3], [3, 6], [6, 50], [50, 130], [130, ping.length]]) {
    records.push(...parseChunks(parser, [ping.subarray(cut[0], cut[1])]));
    buffered.push(parser.bufferedBytes);
  }
  assert.deepEqual(buffered, [3, 0, 44, 124, 0]);
  assert.ok(Math.max(...buffered) <= MAX_BUFFERED_BYTES);
  assert.deepEqual(records, [{
    kind: "ping",
    data: new Uint8Array(125).fill(1),
  }]);

  // Data payloads are never held.
  const big = fromClient({
    opcode: Opcode.Binary,
    payload: new Uint8Array(5000),
  });
  parseChunks(parser, [big.subarray(0, 4000)]);
  assert.equal(parser.bufferedBytes, 0);
});

Deno.test("FrameParser checks its options", () => {
  assert.throws(
    () => new FrameParser({ role: "peer" as "server" }),
    TypeError,
  );
  for (const limit of [-1, 1.5, NaN]) {
    assert.throws(
      () => new FrameParser({ role: "client", maxMessageSize: limit }),
      RangeError,
    );
    assert.throws(
      () => new FrameParser({ role: "client", maxFragments: limit }),
      RangeError,
    );
  }
});
