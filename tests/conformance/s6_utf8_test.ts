/**
 * Autobahn section 6, UTF-8 handling: valid text comes back whatever the
 * fragmentation (even splitting code points between frames), invalid text
 * fails the connection with 1007, and as early as the first byte that no
 * continuation could make valid (fail fast), even mid-frame.
 */

import { conformance } from "./echo_server.ts";
import { type FrameSpec, Op, toHex } from "./peer.ts";
import { KOSME, UTF8_CATEGORIES } from "./utf8_vectors.ts";
import { hex } from "../helpers/bytes.ts";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

conformance("6.1.1 empty text message is echoed", async (peer) => {
  await peer.sendText("");
  await peer.expectMessage("");
  await peer.closeHandshake(1000);
});

conformance(
  "6.1.2 text message of 3 empty fragments is echoed empty",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, fin: false },
      { opcode: Op.Continuation, fin: false },
      { opcode: Op.Continuation },
    ]);
    await peer.expectMessage("");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.1.3 text message of an empty, a full and an empty fragment is echoed",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, fin: false },
      { opcode: Op.Continuation, payload: "middle frame payload", fin: false },
      { opcode: Op.Continuation },
    ]);
    await peer.expectMessage("middle frame payload");
    await peer.closeHandshake(1000);
  },
);

const MIXED = hex(
  "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121",
); // "Hello-µ@ßöäüàá-UTF-8!!"

conformance("6.2.1 valid UTF-8 in one frame is echoed", async (peer) => {
  await peer.sendText(MIXED);
  await peer.expectMessage(decoder.decode(MIXED));
  await peer.closeHandshake(1000);
});

conformance(
  "6.2.2 valid UTF-8 in 2 fragments split at a code point boundary is echoed",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: MIXED.subarray(0, 8), fin: false },
      { opcode: Op.Continuation, payload: MIXED.subarray(8) },
    ]);
    await peer.expectMessage(decoder.decode(MIXED));
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.2.3 valid UTF-8 in one frame written byte by byte is echoed",
  async (peer) => {
    await peer.sendText(MIXED, { chop: 1, delayMs: 1 });
    await peer.expectMessage(decoder.decode(MIXED));
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.2.4 valid UTF-8 in 1-byte fragments (frames end inside code points) is echoed",
  async (peer) => {
    const kosme = hex(KOSME);
    await peer.sendFrames(oneBytePerFrame(kosme));
    await peer.expectMessage(decoder.decode(kosme));
    await peer.closeHandshake(1000);
  },
);

const INVALID = hex(KOSME + "eda080" + "656469746564"); // κόσμε, U+D800, "edited"

conformance(
  "6.3.1 invalid UTF-8 in one frame fails with 1007",
  async (peer) => {
    await peer.sendText(INVALID);
    await peer.expectFailure(1007);
  },
);

conformance(
  "6.3.2 invalid UTF-8 in one frame written byte by byte fails with 1007",
  async (peer) => {
    await peer.sendText(INVALID, { chop: 1 });
    await peer.expectFailure(1007);
  },
);

// 6.4: fail fast. κόσμε, then U+110000 in the UTF-8 integer scheme, then "edited".
const PART1 = hex(KOSME);
const PART2 = hex("f4908080");
const PART3 = hex("656469746564");
const WHOLE = new Uint8Array([...PART1, ...PART2, ...PART3]);
const PAUSE = 150;

conformance(
  "6.4.1 invalid UTF-8 in 3 fragments: failed with 1007 on the 2nd, before the 3rd",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Text, payload: PART1, fin: false });
    await peer.expectNothing(PAUSE);
    await peer.sendFrame({
      opcode: Op.Continuation,
      payload: PART2,
      fin: false,
    });
    await peer.expectFailure(1007);
  },
);

conformance(
  "6.4.2 same, the 2nd fragment ends on the first invalid byte: failed with 1007 at once",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Text,
      payload: WHOLE.subarray(0, 12),
      fin: false,
    });
    await peer.expectNothing(PAUSE);
    await peer.sendFrame({
      opcode: Op.Continuation,
      payload: WHOLE.subarray(12, 13),
      fin: false,
    });
    await peer.expectFailure(1007);
  },
);

/** One frame whose payload is written in 3 chops: [0, a), [a, b), [b, end). */
async function chopsOfOneFrame(
  peer: import("./peer.ts").Peer,
  a: number,
  b: number,
): Promise<void> {
  const frame = new Uint8Array(
    (await import("./peer.ts")).encodeFrame({
      opcode: Op.Text,
      payload: WHOLE,
    }),
  );
  const header = 6; // 21 bytes: 7-bit length, masked.
  await peer.write(frame.subarray(0, header + a));
  await peer.expectNothing(PAUSE);
  await peer.write(frame.subarray(header + a, header + b));
  await peer.expectFailure(1007);
}

conformance(
  "6.4.3 invalid UTF-8 in 3 chops of one frame: failed with 1007 on the 2nd chop",
  (peer) => chopsOfOneFrame(peer, PART1.length, PART1.length + PART2.length),
);

conformance(
  "6.4.4 same, the 2nd chop ends on the first invalid byte: failed with 1007 at once",
  (peer) => chopsOfOneFrame(peer, 12, 13),
);

// 6.5 - 6.23: Markus Kuhn's sequences, each as one text message.
UTF8_CATEGORIES.forEach((category, c) => {
  category.vectors.forEach((vector, v) => {
    const id = `6.${c + 5}.${v + 1}`;
    const what = `${category.title}: ${toHex(vector.bytes, 24)}`;
    if (vector.valid) {
      conformance(`${id} valid, echoed: ${what}`, async (peer) => {
        await peer.sendText(vector.bytes);
        await peer.expectMessage(decoder.decode(vector.bytes));
        await peer.closeHandshake(1000);
      });
    } else {
      conformance(`${id} invalid, 1007: ${what}`, async (peer) => {
        await peer.sendText(vector.bytes);
        await peer.expectFailure(1007);
      });
    }
  });
});

// ---- our own UTF-8 cases ---------------------------------------------------

function oneBytePerFrame(data: Uint8Array): FrameSpec[] {
  return [...data].map((byte, i) => ({
    opcode: i === 0 ? Op.Text : Op.Continuation,
    payload: new Uint8Array([byte]),
    fin: i === data.length - 1,
  }));
}

conformance(
  "6.x a 4-byte code point split 2+2 across frames is echoed",
  async (peer) => {
    const emoji = hex("f09f9880"); // U+1F600
    await peer.sendFrames([
      { opcode: Op.Text, payload: emoji.subarray(0, 2), fin: false },
      { opcode: Op.Continuation, payload: emoji.subarray(2) },
    ]);
    await peer.expectMessage("\u{1F600}");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.x a text message ending inside a code point fails with 1007",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: hex("68656c6c6f"), fin: false },
      { opcode: Op.Continuation, payload: hex("e282") },
    ]);
    await peer.expectFailure(1007);
  },
);

conformance(
  "6.x invalid UTF-8 in 1-byte fragments fails with 1007 at the bad byte, before the message ends",
  async (peer) => {
    const frames = oneBytePerFrame(INVALID);
    // Up to and including 0xA0 (the byte that makes U+D800): fail there.
    await peer.sendFrames(frames.slice(0, 13));
    await peer.expectFailure(1007);
  },
);

conformance(
  "6.x an overlong sequence split across a ping fails with 1007",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: hex("41c0"), fin: false },
      { opcode: Op.Ping, payload: "p" },
      { opcode: Op.Continuation, payload: hex("af") },
    ]);
    // 0xC0 can never start a valid sequence: failing before the pong is
    // allowed, failing after it too.
    const first = await peer.next(undefined, "a pong or a close");
    if (first.kind === "pong") await peer.expectFailure(1007);
    else {
      if (first.kind !== "close" || first.code !== 1007) {
        throw new Error(`expected pong or close 1007; ${peer.describe()}`);
      }
      await peer.sendClose(1007);
      await peer.expectEof();
    }
  },
);

conformance(
  "6.x a binary message is never UTF-8-checked",
  async (peer) => {
    await peer.sendBinary(INVALID);
    await peer.expectMessage(INVALID);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.x a leading byte order mark is kept in the echo",
  async (peer) => {
    await peer.sendText(hex("efbbbf414243"));
    await peer.expectMessage("\uFEFFABC");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.x a leading byte order mark is kept in the echo of a fragmented message",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: hex("efbb"), fin: false },
      { opcode: Op.Continuation, payload: hex("bf41") },
    ]);
    await peer.expectMessage("\uFEFFA");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "6.x a byte order mark inside a message is kept in the echo",
  async (peer) => {
    await peer.sendText(hex("41efbbbf42"));
    await peer.expectMessage("A\uFEFFB");
    await peer.closeHandshake(1000);
  },
);
