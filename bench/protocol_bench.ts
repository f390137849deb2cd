// Hot paths of the protocol core: masking, frame encoding, parsing, UTF-8
// validation, and the handshake's request head and accept key. Run with `deno bench --allow-all bench/protocol_bench.ts`.

import { createHash } from "node:crypto";
import { encodeFrame, encodeFrameHeader } from "../lib/protocol/frame.ts";
import {
  computeAcceptKey,
  HANDSHAKE_GUID,
} from "../lib/protocol/handshake_key.ts";
import { applyMask } from "../lib/protocol/mask.ts";
import { Opcode } from "../lib/protocol/opcodes.ts";
import { parseRequestHead } from "../lib/protocol/request_head.ts";
import { FrameParser } from "../lib/protocol/parser.ts";
import { Utf8Validator } from "../lib/protocol/utf8.ts";

const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const KIB = 1024;
const MIB = 1024 * KIB;

function bytes(length: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length }, (_, i) => (i * 131 + 7) & 0xff);
}

const MASK_SIZES: [string, number][] = [
  ["64 B", 64],
  ["16 KiB", 16 * KIB],
  ["1 MiB", MIB],
];
for (const [name, size] of MASK_SIZES) {
  const data = bytes(size);
  Deno.bench(`applyMask ${name}`, { group: "mask" }, () => {
    applyMask(data, KEY);
  });
}

for (const [name, size] of [["64 B", 64], ["16 KiB", 16 * KIB]] as const) {
  const payload = bytes(size);
  Deno.bench(`encodeFrame ${name} unmasked`, { group: "encode" }, () => {
    encodeFrame({ opcode: Opcode.Binary, payload });
  });
  Deno.bench(`encodeFrame ${name} masked`, { group: "encode" }, () => {
    encodeFrame({ opcode: Opcode.Binary, payload, mask: KEY });
  });
  Deno.bench(`encodeFrameHeader ${name}`, { group: "encode" }, () => {
    encodeFrameHeader({ opcode: Opcode.Binary, payloadLength: payload.length });
  });
}

// 16,384 masked 64-byte binary frames (1.1 MiB), read in 64 KiB chunks as a
// socket would deliver them. Unmasking twice restores the bytes, and binary
// payloads are not validated, so the same buffer serves every run.
const FRAME_COUNT = 16_384;
const frame = encodeFrame({
  opcode: Opcode.Binary,
  payload: bytes(64),
  mask: KEY,
});
const stream = new Uint8Array(frame.length * FRAME_COUNT);
for (let i = 0; i < FRAME_COUNT; i++) stream.set(frame, i * frame.length);
const chunks: Uint8Array[] = [];
for (let start = 0; start < stream.length; start += 64 * KIB) {
  chunks.push(stream.subarray(start, start + 64 * KIB));
}
Deno.bench({
  name: `parse ${FRAME_COUNT} masked 64 B frames`,
  group: "parse",
  fn() {
    const parser = new FrameParser({ role: "server" });
    let received = 0;
    for (const chunk of chunks) {
      parser.push(chunk, (event) => {
        if (event.kind === "data" && event.messageEnd) received++;
      });
    }
    if (received !== FRAME_COUNT) throw new Error(`parsed ${received} frames`);
  },
});

const ascii = new TextEncoder().encode(
  "The quick brown fox jumps over the lazy dog. ".repeat(MIB / 45 + 1),
).subarray(0, MIB);
const mixed = new TextEncoder().encode(
  "Hello κόσμε, 世界! 🎉 naïve café ".repeat(MIB / 40 + 1),
).subarray(0, MIB);
for (const [name, text] of [["ASCII", ascii], ["mixed", mixed]] as const) {
  Deno.bench({
    name: `Utf8Validator 1 MiB ${name}`,
    group: "utf8",
    fn() {
      const validator = new Utf8Validator();
      if (!validator.push(text)) throw new Error("invalid");
    },
  });
}

// The accept key is computed on every handshake (server) and checked on
// every connect (client); node:crypto's native SHA-1 is the yardstick.
const KEY_SAMPLE = "dGhlIHNhbXBsZSBub25jZQ==";
Deno.bench({
  name: "computeAcceptKey",
  group: "accept key",
  baseline: true,
  fn() {
    if (computeAcceptKey(KEY_SAMPLE).length !== 28) throw new Error("length");
  },
});
Deno.bench({
  name: "node:crypto createHash('sha1') to base64",
  group: "accept key",
  fn() {
    const key = createHash("sha1").update(KEY_SAMPLE + HANDSHAKE_GUID)
      .digest("base64");
    if (key.length !== 28) throw new Error("length");
  },
});

// A browser's opening handshake, as the engine listener reads it.
const HEAD = new TextEncoder().encode(
  "GET /ws?room=lobby HTTP/1.1\r\nHost: localhost:8080\r\n" +
    "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Sec-WebSocket-Version: 13\r\nOrigin: http://localhost:8080\r\n" +
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36\r\n" +
    "Accept-Language: en-US,en;q=0.9\r\nCookie: session=abc123\r\n\r\n",
);
Deno.bench({
  name: "parseRequestHead of a browser's handshake",
  group: "head",
  fn() {
    const parsed = parseRequestHead(HEAD, {
      maxHeadSize: 16384,
      maxFields: 100,
    });
    if (parsed.kind !== "head") throw new Error(parsed.kind);
  },
});
