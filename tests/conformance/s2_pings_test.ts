/**
 * Autobahn section 2, pings and pongs: every ping is answered by a pong with
 * the same payload, whatever it holds and however it arrives; a ping over 125
 * bytes fails the connection; unsolicited pongs are ignored.
 */

import { conformance } from "./echo_server.ts";
import { encodeFrame, Op, repeat } from "./peer.ts";
import { concat, hex } from "../helpers/bytes.ts";

conformance("2.1 ping without payload gets an empty pong", async (peer) => {
  await peer.ping();
  await peer.expectPong();
  await peer.closeHandshake(1000);
});

conformance("2.2 ping with a small text payload gets it back", async (peer) => {
  await peer.ping("Hello, world!");
  await peer.expectPong("Hello, world!");
  await peer.closeHandshake(1000);
});

conformance(
  "2.3 ping with a small binary payload gets it back",
  async (peer) => {
    const payload = hex("00fffefdfcfb00ff");
    await peer.ping(payload);
    await peer.expectPong(payload);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.4 ping with a 125-byte binary payload gets it back",
  async (peer) => {
    const payload = repeat(new Uint8Array([0xfe]), 125);
    await peer.ping(payload);
    await peer.expectPong(payload);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.5 ping with a 126-byte payload fails the connection with 1002, no pong",
  async (peer) => {
    await peer.ping(repeat(new Uint8Array([0xfe]), 126));
    await peer.expectFailure(1002);
  },
);

conformance(
  "2.6 ping with a 125-byte payload written byte by byte gets it back",
  async (peer) => {
    const payload = repeat(new Uint8Array([0xfe]), 125);
    await peer.ping(payload, { chop: 1, delayMs: 1 });
    await peer.expectPong(payload);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.7 unsolicited pong without payload gets no answer",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Pong });
    await peer.expectNothing(100);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.8 unsolicited pong with payload gets no answer",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Pong,
      payload: "unsolicited pong payload",
    });
    await peer.expectNothing(100);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.9 unsolicited pong, then ping: only the ping is answered",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Pong, payload: "unsolicited pong payload" },
      { opcode: Op.Ping, payload: "ping payload" },
    ]);
    await peer.expectPong("ping payload");
    await peer.expectNothing(50);
    await peer.closeHandshake(1000);
  },
);

const TEN_PINGS = Array.from({ length: 10 }, (_, i) => `payload-${i}`);

conformance(
  "2.10 ten pings in one write get ten pongs in order",
  async (peer) => {
    await peer.write(
      concat(
        TEN_PINGS.map((payload) => encodeFrame({ opcode: Op.Ping, payload })),
      ),
    );
    for (const payload of TEN_PINGS) await peer.expectPong(payload);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.11 ten pings written byte by byte get ten pongs in order",
  async (peer) => {
    await peer.write(
      concat(
        TEN_PINGS.map((payload) => encodeFrame({ opcode: Op.Ping, payload })),
      ),
      { chop: 1, delayMs: 1 },
    );
    for (const payload of TEN_PINGS) await peer.expectPong(payload);
    await peer.closeHandshake(1000);
  },
);

// ---- our own ping cases ----------------------------------------------------

conformance(
  "2.x ping payload that is not UTF-8 is echoed as it is",
  async (peer) => {
    const payload = hex("cebae1bdb9cf83cebcceb5eda080656469746564");
    await peer.ping(payload);
    await peer.expectPong(payload);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.x a ping between two messages is answered between their echoes",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: "first" },
      { opcode: Op.Ping, payload: "between" },
      { opcode: Op.Text, payload: "second" },
    ]);
    await peer.expectMessage("first");
    await peer.expectPong("between");
    await peer.expectMessage("second");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "2.x a 126-byte pong fails the connection with 1002",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Pong,
      payload: repeat(new Uint8Array([0x2a]), 126),
    });
    await peer.expectFailure(1002);
  },
);

conformance(
  "2.x a ping declaring a 16-bit length of 125 fails with 1002",
  async (peer) => {
    // Control frames have 7-bit lengths only: 126 announces a 16-bit length.
    const payload = repeat(new Uint8Array([0x01]), 125);
    const frame = new Uint8Array(8 + payload.length);
    frame.set([0x89, 0x80 | 126, 0, 125, 0, 0, 0, 0]);
    frame.set(payload, 8);
    await peer.write(frame);
    await peer.expectFailure(1002);
  },
);
