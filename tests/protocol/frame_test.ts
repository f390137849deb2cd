import assert from "node:assert/strict";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import {
  decodeClosePayload,
  encodeClosePayload,
  encodeFrame,
  encodeFrameHeader,
  frameHeaderLength,
  MAX_PAYLOAD_LENGTH,
} from "../../lib/protocol/frame.ts";
import { Opcode } from "../../lib/protocol/opcodes.ts";
import { concat, hex } from "../helpers/bytes.ts";

const HELLO = new TextEncoder().encode("Hello");
const KEY = hex("37 fa 21 3d");

// RFC 6455 section 5.7.
Deno.test("encodeFrame() produces the RFC 6455 section 5.7 examples", () => {
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Text, payload: HELLO }),
    hex("81 05 48 65 6c 6c 6f"),
  );
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Text, payload: HELLO, mask: KEY }),
    hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
  );
  assert.deepEqual(
    encodeFrame({
      fin: false,
      opcode: Opcode.Text,
      payload: HELLO.subarray(0, 3),
    }),
    hex("01 03 48 65 6c"),
  );
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Continuation, payload: HELLO.subarray(3) }),
    hex("80 02 6c 6f"),
  );
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Ping, payload: HELLO }),
    hex("89 05 48 65 6c 6c 6f"),
  );
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Pong, payload: HELLO, mask: KEY }),
    hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"),
  );
  const binary256 = new Uint8Array(256).fill(0xab);
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Binary, payload: binary256 }),
    concat([hex("82 7e 01 00"), binary256]),
  );
  const binary64k = new Uint8Array(65_536).fill(0xcd);
  assert.deepEqual(
    encodeFrame({ opcode: Opcode.Binary, payload: binary64k }),
    concat([hex("82 7f 00 00 00 00 00 01 00 00"), binary64k]),
  );
});

Deno.test("encodeFrame() leaves the payload it masks unchanged", () => {
  const payload = HELLO.slice();
  encodeFrame({ opcode: Opcode.Text, payload, mask: KEY });
  assert.deepEqual(payload, HELLO);
});

Deno.test("encodeFrame() sets RSV1 and clears FIN on request", () => {
  const frame = encodeFrame({
    fin: false,
    rsv1: true,
    opcode: Opcode.Binary,
    payload: new Uint8Array(0),
  });
  assert.deepEqual(frame, hex("42 00"));
});

Deno.test("encodeFrameHeader() uses the shortest length form at each boundary", () => {
  const cases: [number, string][] = [
    [0, "82 00"],
    [125, "82 7d"],
    [126, "82 7e 00 7e"],
    [65_535, "82 7e ff ff"],
    [65_536, "82 7f 00 00 00 00 00 01 00 00"],
    [2 ** 32, "82 7f 00 00 00 01 00 00 00 00"],
    [2 ** 40 + 5, "82 7f 00 00 01 00 00 00 00 05"],
    [MAX_PAYLOAD_LENGTH, "82 7f 00 1f ff ff ff ff ff ff"],
  ];
  for (const [payloadLength, expected] of cases) {
    const header = encodeFrameHeader({ opcode: Opcode.Binary, payloadLength });
    assert.deepEqual(header, hex(expected), `length ${payloadLength}`);
    assert.equal(frameHeaderLength(payloadLength, false), header.length);
    const masked = encodeFrameHeader({
      opcode: Opcode.Binary,
      payloadLength,
      mask: KEY,
    });
    assert.deepEqual(
      masked,
      concat([hex(expected), KEY]).map((byte, i) =>
        i === 1 ? byte | 0x80 : byte
      ),
    );
    assert.equal(frameHeaderLength(payloadLength, true), masked.length);
  }
});

Deno.test("encodeFrameHeader() is the head of encodeFrame()", () => {
  for (const length of [0, 5, 300, 70_000]) {
    const payload = new Uint8Array(length).fill(7);
    for (const mask of [undefined, KEY]) {
      const frame = encodeFrame({ opcode: Opcode.Binary, payload, mask });
      const header = encodeFrameHeader({
        opcode: Opcode.Binary,
        payloadLength: length,
        mask,
      });
      assert.deepEqual(frame.subarray(0, header.length), header);
      assert.equal(frame.length, header.length + length);
    }
  }
});

Deno.test("encodeFrameHeader() rejects what a header cannot carry", () => {
  for (const payloadLength of [-1, 1.5, 2 ** 53, Infinity, NaN]) {
    assert.throws(
      () => encodeFrameHeader({ opcode: Opcode.Binary, payloadLength }),
      RangeError,
      `length ${payloadLength}`,
    );
  }
  for (const opcode of [-1, 16, 1.5]) {
    assert.throws(
      () => encodeFrameHeader({ opcode, payloadLength: 0 }),
      RangeError,
    );
  }
  assert.throws(
    () =>
      encodeFrame({
        opcode: Opcode.Text,
        payload: HELLO,
        mask: new Uint8Array(5),
      }),
    RangeError,
  );
});

Deno.test("encodeClosePayload() writes the code big-endian, then the reason", () => {
  assert.deepEqual(encodeClosePayload(), new Uint8Array(0));
  assert.deepEqual(encodeClosePayload(1000), hex("03 e8"));
  assert.deepEqual(encodeClosePayload(4999, "ok"), hex("13 87 6f 6b"));
  assert.deepEqual(encodeClosePayload(1001, "é"), hex("03 e9 c3 a9"));
});

Deno.test("encodeClosePayload() refuses what may not be sent", () => {
  assert.throws(() => encodeClosePayload(undefined, "why"), RangeError);
  for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    assert.throws(() => encodeClosePayload(code), RangeError, `code ${code}`);
  }
  assert.throws(() => encodeClosePayload(1000, "x".repeat(124)), RangeError);
  assert.equal(encodeClosePayload(1000, "x".repeat(123)).length, 125);
});

function assertCloseError(
  bytes: Uint8Array,
  status: WebSocketStatus,
  code: number,
) {
  assert.throws(
    () => decodeClosePayload(bytes),
    (error: unknown) =>
      error instanceof WebSocketError && error.status === status &&
      error.code === code,
  );
}

Deno.test("decodeClosePayload() applies the RFC 6455 rules", () => {
  assert.deepEqual(decodeClosePayload(new Uint8Array(0)), {
    code: 1005,
    reason: "",
  });
  assert.deepEqual(decodeClosePayload(hex("03 e8")), {
    code: 1000,
    reason: "",
  });
  assert.deepEqual(decodeClosePayload(encodeClosePayload(3000, "κόσμε")), {
    code: 3000,
    reason: "κόσμε",
  });
  // A leading byte order mark is part of the reason, not stripped.
  assert.deepEqual(decodeClosePayload(hex("03 e8 ef bb bf 61")), {
    code: 1000,
    reason: "\ufeffa",
  });
  for (
    const code of [
      1000,
      1001,
      1002,
      1003,
      1007,
      1008,
      1009,
      1010,
      1011,
      1012,
      1013,
      1014,
      3000,
      4999,
    ]
  ) {
    assert.equal(
      decodeClosePayload(hex(code.toString(16).padStart(4, "0"))).code,
      code,
    );
  }

  assertCloseError(hex("03"), WebSocketStatus.ProtocolError, 1002);
  for (
    const code of [
      0,
      999,
      1004,
      1005,
      1006,
      1015,
      1016,
      2000,
      2999,
      5000,
      65_535,
    ]
  ) {
    assertCloseError(
      hex(code.toString(16).padStart(4, "0")),
      WebSocketStatus.ProtocolError,
      1002,
    );
  }
  assertCloseError(
    hex("03 e8 ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80"),
    WebSocketStatus.InvalidPayload,
    1007,
  );
  assertCloseError(hex("03 e8 c3"), WebSocketStatus.InvalidPayload, 1007);
});
