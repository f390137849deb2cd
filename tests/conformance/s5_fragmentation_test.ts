/**
 * Autobahn section 5, fragmentation: fragmented messages are reassembled
 * (with control frames between their fragments answered at once), while
 * fragmented control frames, continuations with nothing to continue and a
 * new data frame in the middle of a message fail the connection with 1002.
 */

import { conformance } from "./echo_server.ts";
import { type FrameSpec, Op, repeat, type WriteOptions } from "./peer.ts";

const BYTEWISE: WriteOptions = { chop: 1, delayMs: 1 };

conformance(
  "5.1 ping fragmented into 2 fragments fails with 1002",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Ping, payload: "fragment1", fin: false },
      { opcode: Op.Continuation, payload: "fragment2" },
    ]);
    await peer.expectFailure(1002);
  },
);

conformance(
  "5.2 pong fragmented into 2 fragments fails with 1002",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Pong, payload: "fragment1", fin: false },
      { opcode: Op.Continuation, payload: "fragment2" },
    ]);
    await peer.expectFailure(1002);
  },
);

const TWO_FRAGMENTS: FrameSpec[] = [
  { opcode: Op.Text, payload: "fragment1", fin: false },
  { opcode: Op.Continuation, payload: "fragment2" },
];

for (
  const [id, how, options] of [
    ["5.3", "in one write", {}],
    ["5.4", "frame by frame", { chop: [15], delayMs: 20 }],
    ["5.5", "byte by byte", BYTEWISE],
  ] as const
) {
  conformance(
    `${id} text message in 2 fragments, ${how}, is echoed whole`,
    async (peer) => {
      await peer.sendFrames(TWO_FRAGMENTS, options);
      await peer.expectMessage("fragment1fragment2");
      await peer.closeHandshake(1000);
    },
  );
}

const WITH_PING: FrameSpec[] = [
  { opcode: Op.Text, payload: "fragment1", fin: false },
  { opcode: Op.Ping, payload: "pongme!" },
  { opcode: Op.Continuation, payload: "fragment2" },
];

for (
  const [id, how, options] of [
    ["5.6", "in one write", {}],
    ["5.7", "byte by byte", BYTEWISE],
    ["5.8", "frame by frame", { chop: [15, 28], delayMs: 20 }],
  ] as const
) {
  conformance(
    `${id} text in 2 fragments with a ping between, ${how}: pong, then the message`,
    async (peer) => {
      await peer.sendFrames(WITH_PING, options);
      await peer.expectPong("pongme!");
      await peer.expectMessage("fragment1fragment2");
      await peer.closeHandshake(1000);
    },
  );
}

function nothingToContinue(fin: boolean): FrameSpec[] {
  return [
    { opcode: Op.Continuation, payload: "non-continuation payload", fin },
    { opcode: Op.Text, payload: "Hello, world!" },
  ];
}

for (
  const [first, fin] of [[9, true], [12, false]] as const
) {
  for (
    const [offset, how, options] of [
      [0, "in one write", {}],
      [1, "byte by byte", BYTEWISE],
      [2, "frame by frame", { chop: [30], delayMs: 20 }],
    ] as const
  ) {
    conformance(
      `5.${
        first + offset
      } continuation with FIN = ${fin} and nothing to continue, ${how}: 1002, no echo`,
      async (peer) => {
        await peer.sendFrames(nothingToContinue(fin), options);
        await peer.expectFailure(1002);
      },
    );
  }
}

conformance(
  "5.15 text in 2 fragments, continuation with nothing to continue, text: echo, then 1002",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: "fragment1", fin: false },
      { opcode: Op.Continuation, payload: "fragment2" },
      { opcode: Op.Continuation, payload: "fragment3", fin: false },
      { opcode: Op.Text, payload: "fragment4" },
    ]);
    await peer.expectMessage("fragment1fragment2");
    await peer.expectFailure(1002);
  },
);

for (const [id, fin] of [["5.16", false], ["5.17", true]] as const) {
  conformance(
    `${id} twice: continuation (FIN = ${fin}) with nothing to continue, text in 2 fragments: 1002, no echo`,
    async (peer) => {
      const round: FrameSpec[] = [
        { opcode: Op.Continuation, payload: "fragment1", fin },
        { opcode: Op.Text, payload: "fragment2", fin: false },
        { opcode: Op.Continuation, payload: "fragment3" },
      ];
      await peer.sendFrames([...round, ...round]);
      await peer.expectFailure(1002);
    },
  );
}

conformance(
  "5.18 text in 2 fragments both with the text opcode: 1002, no echo",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: "fragment1", fin: false },
      { opcode: Op.Text, payload: "fragment2" },
    ]);
    await peer.expectFailure(1002);
  },
);

const FIVE_WITH_PINGS: FrameSpec[] = [
  { opcode: Op.Text, payload: "fragment1", fin: false },
  { opcode: Op.Continuation, payload: "fragment2", fin: false },
  { opcode: Op.Ping, payload: "pongme 1!" },
  { opcode: Op.Continuation, payload: "fragment3", fin: false },
  { opcode: Op.Continuation, payload: "fragment4", fin: false },
  { opcode: Op.Ping, payload: "pongme 2!" },
  { opcode: Op.Continuation, payload: "fragment5" },
];

conformance(
  "5.19 text in 5 fragments with 2 pings between, frames paced: pongs as they come, then the message",
  async (peer) => {
    for (const [index, frame] of FIVE_WITH_PINGS.entries()) {
      await peer.sendFrame(frame);
      if (index === 2) await peer.expectPong("pongme 1!");
      if (index === 5) await peer.expectPong("pongme 2!");
      if (index < 6) await peer.expectNothing(20);
    }
    await peer.expectMessage("fragment1fragment2fragment3fragment4fragment5");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "5.20 text in 5 fragments with 2 pings between, byte by byte: pongs, then the message",
  async (peer) => {
    await peer.sendFrames(FIVE_WITH_PINGS, { chop: 1 });
    await peer.expectPong("pongme 1!");
    await peer.expectPong("pongme 2!");
    await peer.expectMessage("fragment1fragment2fragment3fragment4fragment5");
    await peer.closeHandshake(1000);
  },
);

// ---- our own fragmentation cases -------------------------------------------

conformance(
  "5.x binary message in 3 fragments is echoed whole as binary",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Binary, payload: new Uint8Array([1, 2]), fin: false },
      { opcode: Op.Continuation, payload: new Uint8Array([3]), fin: false },
      { opcode: Op.Continuation, payload: new Uint8Array([4, 5, 6]) },
    ]);
    await peer.expectMessage(new Uint8Array([1, 2, 3, 4, 5, 6]));
    await peer.closeHandshake(1000);
  },
);

conformance(
  "5.x a message in 1000 fragments of 1 byte is echoed whole",
  async (peer) => {
    const payload = repeat("abcdefghij", 1000);
    await peer.sendFrames(
      [...payload].map((byte, i) => ({
        opcode: i === 0 ? Op.Text : Op.Continuation,
        payload: new Uint8Array([byte]),
        fin: i === payload.length - 1,
      })),
    );
    await peer.expectMessage(new TextDecoder().decode(payload));
    await peer.closeHandshake(1000);
  },
);

conformance(
  "5.x empty fragments around data are echoed as one message",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Binary, fin: false },
      { opcode: Op.Continuation, fin: false },
      { opcode: Op.Continuation, payload: new Uint8Array([9]), fin: false },
      { opcode: Op.Continuation },
    ]);
    await peer.expectMessage(new Uint8Array([9]));
    await peer.closeHandshake(1000);
  },
);

conformance(
  "5.x binary frame in the middle of a fragmented text message: 1002, no echo",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: "fragment1", fin: false },
      { opcode: Op.Binary, payload: "fragment2", fin: false },
      { opcode: Op.Continuation, payload: "fragment3" },
    ]);
    await peer.expectFailure(1002);
  },
);

conformance(
  "5.x unsolicited pong between fragments is ignored, message echoed",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Binary, payload: "one", fin: false },
      { opcode: Op.Pong, payload: "heartbeat" },
      { opcode: Op.Continuation, payload: "two" },
    ]);
    await peer.expectMessage(new TextEncoder().encode("onetwo"));
    await peer.closeHandshake(1000);
  },
);

conformance(
  "5.x a fragmented close (FIN = 0) fails with 1002",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Close, payload: new Uint8Array([0x03, 0xe8]), fin: false },
      { opcode: Op.Continuation, payload: "bye" },
    ]);
    await peer.expectFailure(1002);
  },
);

conformance(
  "5.x two fragmented messages back to back are echoed in order",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: "a", fin: false },
      { opcode: Op.Continuation, payload: "b" },
      { opcode: Op.Binary, payload: "c", fin: false },
      { opcode: Op.Continuation, payload: "d" },
    ]);
    await peer.expectMessage("ab");
    await peer.expectMessage(new TextEncoder().encode("cd"));
    await peer.closeHandshake(1000);
  },
);
