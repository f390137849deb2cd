/**
 * Autobahn section 3, reserved bits: with no extension negotiated, any RSV
 * bit fails the connection with 1002, and nothing after the bad frame is
 * processed (no echo, no pong). RSV values are Autobahn's: 4 = RSV1,
 * 2 = RSV2, 1 = RSV3.
 */

import { conformance } from "./echo_server.ts";
import { Op } from "./peer.ts";

const HELLO = "Hello, world!";

conformance("3.1 text message with RSV = 1 fails with 1002", async (peer) => {
  await peer.sendFrame({ opcode: Op.Text, payload: HELLO, rsv: 1 });
  await peer.expectFailure(1002);
});

conformance(
  "3.2 text, text with RSV = 2, ping: first echoed, then 1002, no pong",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: HELLO },
      { opcode: Op.Text, payload: HELLO, rsv: 2 },
      { opcode: Op.Ping },
    ]);
    await peer.expectMessage(HELLO);
    await peer.expectFailure(1002);
  },
);

conformance(
  "3.3 same with RSV = 3, frame by frame: first echoed, then 1002, no pong",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Text, payload: HELLO });
    await peer.expectMessage(HELLO);
    await peer.sendFrame({ opcode: Op.Text, payload: HELLO, rsv: 3 });
    await peer.sendFrame({ opcode: Op.Ping });
    await peer.expectFailure(1002);
  },
);

conformance(
  "3.4 same with RSV = 4, byte by byte: first echoed, then 1002, no pong",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: HELLO },
      { opcode: Op.Text, payload: HELLO, rsv: 4 },
      { opcode: Op.Ping },
    ], { chop: 1, delayMs: 1 });
    await peer.expectMessage(HELLO);
    await peer.expectFailure(1002);
  },
);

conformance("3.5 binary message with RSV = 5 fails with 1002", async (peer) => {
  await peer.sendFrame({
    opcode: Op.Binary,
    payload: new Uint8Array([0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff]),
    rsv: 5,
  });
  await peer.expectFailure(1002);
});

conformance("3.6 ping with RSV = 6 fails with 1002, no pong", async (peer) => {
  await peer.sendFrame({
    opcode: Op.Ping,
    payload: new Uint8Array([0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff]),
    rsv: 6,
  });
  await peer.expectFailure(1002);
});

conformance(
  "3.7 close with RSV = 7 fails with 1002, not a close echo",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Close,
      payload: new Uint8Array([0x03, 0xe8]),
      rsv: 7,
    });
    await peer.expectFailure(1002);
  },
);

// ---- our own RSV cases -----------------------------------------------------

for (const rsv of [1, 2, 3, 4, 5, 6, 7]) {
  conformance(
    `3.x continuation frame with RSV = ${rsv} fails with 1002, no echo`,
    async (peer) => {
      await peer.sendFrames([
        { opcode: Op.Text, payload: "frag", fin: false },
        { opcode: Op.Continuation, payload: "ment", rsv },
      ]);
      await peer.expectFailure(1002);
    },
  );
}

conformance(
  "3.x pong with RSV = 4 fails with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Pong, payload: "x", rsv: 4 });
    await peer.expectFailure(1002);
  },
);

conformance(
  "3.x RSV on an empty text frame fails with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Text, rsv: 2 });
    await peer.expectFailure(1002);
  },
);
