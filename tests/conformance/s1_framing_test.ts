/**
 * Autobahn section 1, framing: text and binary messages at every payload
 * length encoding boundary (7-bit, 16-bit, 64-bit), whole and chopped, plus
 * our own framing cases (header bytes split anywhere, several frames per
 * write, frames in the handshake's packet, the masking rule).
 */

import { conformance } from "./echo_server.ts";
import { encodeFrame, Op, repeat } from "./peer.ts";
import { concat } from "../helpers/bytes.ts";

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536] as const;

LENGTHS.forEach((length, index) => {
  conformance(
    `1.1.${index + 1} text message of ${length} bytes is echoed`,
    async (peer) => {
      const payload = new TextDecoder().decode(repeat("*", length));
      await peer.sendText(payload);
      await peer.expectMessage(payload);
      await peer.closeHandshake(1000);
    },
  );
});

conformance(
  "1.1.8 text message of 65536 bytes written in chops of 997 bytes is echoed",
  async (peer) => {
    const payload = new TextDecoder().decode(repeat("*", 65536));
    await peer.sendText(payload, { chop: 997 });
    await peer.expectMessage(payload);
    await peer.closeHandshake(1000);
  },
);

LENGTHS.forEach((length, index) => {
  conformance(
    `1.2.${index + 1} binary message of ${length} bytes is echoed`,
    async (peer) => {
      const payload = repeat(new Uint8Array([0xfe]), length);
      await peer.sendBinary(payload);
      await peer.expectMessage(payload);
      await peer.closeHandshake(1000);
    },
  );
});

conformance(
  "1.2.8 binary message of 65536 bytes written in chops of 997 bytes is echoed",
  async (peer) => {
    const payload = repeat(new Uint8Array([0xfe]), 65536);
    await peer.sendBinary(payload, { chop: 997 });
    await peer.expectMessage(payload);
    await peer.closeHandshake(1000);
  },
);

// ---- our own framing cases -------------------------------------------------

for (const length of [5, 300, 70_000]) {
  conformance(
    `1.x header and masking key of a ${length}-byte frame written byte by byte`,
    async (peer) => {
      const payload = repeat(new Uint8Array([0x00, 0xff, 0x10]), length);
      const frame = encodeFrame({ opcode: Op.Binary, payload });
      const header = length < 126 ? 6 : length < 65536 ? 8 : 14;
      // Every header byte on its own, then the payload in one write.
      const cuts = Array.from({ length: header }, (_, i) => i + 1);
      await peer.write(frame, { chop: cuts, delayMs: 2 });
      await peer.expectMessage(payload);
      await peer.closeHandshake(1000);
    },
  );
}

conformance(
  "1.x a whole text message written byte by byte is echoed",
  async (peer) => {
    await peer.sendText("Hello, byte by byte!", { chop: 1, delayMs: 1 });
    await peer.expectMessage("Hello, byte by byte!");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "1.x messages of every length encoding in one write come back in order",
  async (peer) => {
    const payloads = [0, 1, 125, 126, 65535, 65536, 3].map((length, i) =>
      repeat(String.fromCharCode(65 + i), length)
    );
    await peer.write(
      concat(
        payloads.map((payload, i) =>
          encodeFrame({ opcode: i % 2 === 0 ? Op.Text : Op.Binary, payload })
        ),
      ),
    );
    for (const [i, payload] of payloads.entries()) {
      await peer.expectMessage(payload, {
        type: i % 2 === 0 ? "text" : "binary",
      });
    }
    await peer.closeHandshake(1000);
  },
);

conformance(
  "1.x frames sent in the same packet as the handshake request are echoed",
  async (peer) => {
    await peer.expectMessage("early bird");
    await peer.expectMessage(new Uint8Array([1, 2, 3]));
    await peer.closeHandshake(1000);
  },
  {
    connect: {
      head: concat([
        encodeFrame({ opcode: Op.Text, payload: "early bird" }),
        encodeFrame({ opcode: Op.Binary, payload: new Uint8Array([1, 2, 3]) }),
      ]),
    },
  },
);

conformance(
  "1.x an all-zero masking key is a valid key",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Text,
      payload: "zero key",
      maskKey: new Uint8Array(4),
    });
    await peer.expectMessage("zero key");
    await peer.closeHandshake(1000);
  },
);

conformance(
  "1.x an unmasked frame from the client fails the connection with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Text, payload: "no mask", mask: false });
    await peer.expectFailure(1002);
  },
);

conformance(
  "1.x an unmasked ping from the client fails the connection with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Ping, payload: "no mask", mask: false });
    await peer.expectFailure(1002);
  },
);

conformance(
  "1.x a 64-bit length with the most significant bit set fails with 1002",
  async (peer) => {
    // FIN + binary, masked, 127: 8-byte length 0x8000000000000001, then a key.
    await peer.write(
      new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]),
    );
    await peer.expectFailure(1002);
  },
);
