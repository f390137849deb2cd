/**
 * Autobahn section 12 style, permessage-deflate with the default offer
 * (`permessage-deflate; client_max_window_bits`, which the echo answers with
 * a bare `permessage-deflate`: 15-bit windows, context takeover both ways):
 * text and binary messages of 16 B to 1 MiB, several per case so that each
 * side's compressor refers back into earlier messages, sent in one frame
 * each or cut into frames of at most 16 KiB (RSV1 on the first only, a ping
 * between the first two frames of the first message). The echoes must come
 * back compressed, RSV1 on their first frame only and on no control frame,
 * and inflate, within the 32 KiB window and the history of the earlier
 * echoes, to what was sent.
 *
 * Sections: 12.1 JSON-like text, 12.2 image-like binary, 12.3 UTF-8 prose
 * in several scripts, 12.4 random binary (which deflate makes larger). In
 * each, cases 1 to 13 send one frame per message, 14 to 26 fragment.
 * Autobahn sends 1000 messages per case; a few keep the run short, except
 * in 12.5: 1000 small messages pipelined.
 */

import assert from "node:assert/strict";
import { constants, deflateRawSync } from "node:zlib";
import {
  assertDeflateFrames,
  compressedFrames,
  deflateConformance,
  expectCompressed,
  imageBinary,
  jsonText,
  proseText,
  randomBinary,
} from "./deflate_peer.ts";
import { equalBytes, type FrameSpec, Op } from "./peer.ts";
import { InflateError, StrictInflater } from "./strict_inflate.ts";

const KiB = 1024;
const SIZES = [
  16,
  64,
  256,
  KiB,
  4 * KiB,
  8 * KiB,
  16 * KiB,
  32 * KiB,
  64 * KiB,
  128 * KiB,
  256 * KiB,
  512 * KiB,
  1024 * KiB,
];
const FRAME_SIZE = 16 * KiB;
const PING: FrameSpec = { opcode: Op.Ping, payload: "between fragments" };

const SECTIONS = [
  { id: "12.1", what: "JSON-like text", type: "text", make: jsonText },
  { id: "12.2", what: "image-like binary", type: "binary", make: imageBinary },
  { id: "12.3", what: "UTF-8 prose text", type: "text", make: proseText },
  { id: "12.4", what: "random binary", type: "binary", make: randomBinary },
] as const;

/** Messages per case: a few, fewer as they grow. */
function countFor(size: number): number {
  return size <= 16 * KiB ? 8 : size <= 128 * KiB ? 4 : 2;
}

function sizeName(size: number): string {
  return size >= KiB * KiB
    ? `${size / KiB / KiB} MiB`
    : size >= KiB
    ? `${size / KiB} KiB`
    : `${size} B`;
}

Deno.test("12.0 the suite's inflater agrees with node:zlib and enforces the window", () => {
  for (const bits of [9, 10, 12, 15]) {
    const inflater = new StrictInflater(bits, true);
    for (
      const data of [jsonText(100 * KiB, 1), randomBinary(40 * KiB, 2)]
    ) {
      const compressed = deflateRawSync(data, {
        windowBits: bits,
        finishFlush: constants.Z_SYNC_FLUSH,
      });
      const inflated = inflater.inflate(compressed.subarray(0, -4));
      assert.ok(equalBytes(inflated.data, data), `${bits} bits`);
      assert.ok(inflated.maxDistance <= 2 ** bits);
    }
  }
  // Deflated with 15 bits, repeating at 3000 bytes: a 1 KiB window refuses.
  const data = randomBinary(5000, 3);
  data.copyWithin(3000, 0, 2000);
  const compressed = deflateRawSync(data, {
    finishFlush: constants.Z_SYNC_FLUSH,
  }).subarray(0, -4);
  assert.throws(
    () => new StrictInflater(10, true).inflate(compressed),
    InflateError,
  );
  assert.equal(
    new StrictInflater(12, true).inflate(compressed).maxDistance,
    3000,
  );
});

for (const section of SECTIONS) {
  const opcode = section.type === "text" ? Op.Text : Op.Binary;
  for (const [half, fragmented] of [false, true].entries()) {
    for (const [index, size] of SIZES.entries()) {
      const id = `${section.id}.${half * SIZES.length + index + 1}`;
      const count = countFor(size);
      deflateConformance(
        `${id} ${count} ${section.what} messages of ${sizeName(size)}, ${
          fragmented
            ? "in frames of at most 16 KiB with a ping"
            : "one frame each"
        }: compressed echoes`,
        async (peer, deflate) => {
          assert.equal(peer.extensions, "permessage-deflate");
          // Every other message repeats the first: back-references reach
          // into earlier messages on both sides.
          const messages = Array.from(
            { length: count },
            (_, k) => section.make(size, k % 2 === 0 ? 1 : k + 1),
          );
          const frames: FrameSpec[] = [];
          for (const [k, message] of messages.entries()) {
            const payload = await deflate.compressWhole(message);
            frames.push(
              ...compressedFrames(
                opcode,
                payload,
                fragmented
                  ? {
                    // At least 3 frames, so small messages fragment too.
                    frameSize: Math.min(
                      FRAME_SIZE,
                      Math.ceil(payload.length / 3),
                    ),
                    ...(k === 0 ? { between: PING } : {}),
                  }
                  : {},
              ),
            );
          }
          await peer.sendFrames(frames);
          if (fragmented) await peer.expectPong(PING.payload);
          for (const message of messages) {
            await expectCompressed(peer, deflate, message, {
              type: section.type,
              timeoutMs: 10_000,
            });
          }
          assertDeflateFrames(peer.rawFrames().frames);
          await peer.closeHandshake(1000);
        },
      );
    }
  }
}

// Autobahn sends 1000 messages a case: that many small ones, pipelined in
// one write, keep the server's inflate queue full (it pauses reading past
// 64 pending messages and resumes as they drain).
for (
  const [index, [size, type]] of ([
    [16, "text"],
    [64, "binary"],
    [256, "text"],
    [KiB, "binary"],
  ] as const).entries()
) {
  deflateConformance(
    `12.5.${index + 1} 1000 ${type} messages of ${
      sizeName(size)
    }, pipelined in one write: every echo, in order`,
    async (peer, deflate) => {
      const make = type === "text" ? jsonText : imageBinary;
      const messages = Array.from(
        { length: 1000 },
        (_, k) => make(size, k % 10),
      );
      const frames: FrameSpec[] = [];
      for (const message of messages) {
        frames.push(
          ...compressedFrames(
            type === "text" ? Op.Text : Op.Binary,
            await deflate.compressWhole(message),
          ),
        );
      }
      await peer.sendFrames(frames);
      for (const message of messages) {
        await expectCompressed(peer, deflate, message, { type });
      }
      assertDeflateFrames(peer.rawFrames().frames);
      await peer.closeHandshake(1000);
    },
  );
}
