/**
 * Autobahn section 4, opcodes: the reserved non-control (3-7) and control
 * (11-15) opcodes fail the connection with 1002, and nothing after the bad
 * frame is processed.
 */

import { conformance } from "./echo_server.ts";
import { Op } from "./peer.ts";

const HELLO = "Hello, world!";

function reservedCases(section: string, opcodes: readonly number[]): void {
  const [a, b, c, d, e] = opcodes as [number, number, number, number, number];
  conformance(
    `${section}.1 frame with reserved opcode ${a} fails with 1002`,
    async (peer) => {
      await peer.sendFrame({ opcode: a });
      await peer.expectFailure(1002);
    },
  );
  conformance(
    `${section}.2 frame with reserved opcode ${b} and a payload fails with 1002`,
    async (peer) => {
      await peer.sendFrame({ opcode: b, payload: "reserved opcode payload" });
      await peer.expectFailure(1002);
    },
  );
  for (
    const [index, opcode, payload] of [
      [3, c, ""],
      [4, d, "reserved opcode payload"],
      [5, e, ""],
    ] as const
  ) {
    conformance(
      `${section}.${index} text, reserved opcode ${opcode}${
        payload === "" ? "" : " with payload"
      }, ping: echo, then 1002, no pong`,
      async (peer) => {
        await peer.sendFrames([
          { opcode: Op.Text, payload: HELLO },
          { opcode, payload },
          { opcode: Op.Ping },
        ]);
        await peer.expectMessage(HELLO);
        await peer.expectFailure(1002);
      },
    );
  }
}

reservedCases("4.1", [3, 4, 5, 6, 7]);
reservedCases("4.2", [11, 12, 13, 14, 15]);

// ---- our own opcode cases --------------------------------------------------

for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
  conformance(
    `4.x reserved opcode ${opcode} inside a fragmented message fails with 1002, no echo`,
    async (peer) => {
      await peer.sendFrames([
        { opcode: Op.Text, payload: "frag", fin: false },
        { opcode, payload: "x" },
        { opcode: Op.Continuation, payload: "ment" },
      ]);
      await peer.expectFailure(1002);
    },
  );
}

conformance(
  "4.x reserved opcode 3 written byte by byte fails with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: 3, payload: "abc" }, {
      chop: 1,
      delayMs: 1,
    });
    await peer.expectFailure(1002);
  },
);

conformance(
  "4.x reserved opcode 7 without FIN fails with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: 7, payload: "abc", fin: false });
    await peer.expectFailure(1002);
  },
);
