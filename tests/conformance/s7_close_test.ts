/**
 * Autobahn section 7, close handling: the server answers a close frame by
 * echoing its code and reason (an empty close for an empty close), ignores
 * everything after it, closes TCP promptly, and fails the connection for
 * malformed close frames: 1002 for a 1-byte payload, an invalid code or an
 * oversized frame, 1007 for a reason that is not UTF-8.
 */

import assert from "node:assert/strict";
import { conformance } from "./echo_server.ts";
import { closePayload, Op, repeat } from "./peer.ts";
import { hex } from "../helpers/bytes.ts";

conformance(
  "7.1.1 message then close: echo, close 1000 echoed, TCP closed",
  async (peer) => {
    await peer.sendText("Hello World!");
    await peer.sendClose(1000);
    await peer.expectMessage("Hello World!");
    await peer.expectClose(1000, { reply: false });
    await peer.expectEof();
  },
);

conformance(
  "7.1.2 two close frames: one close answer, then TCP closed",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Close, payload: closePayload(1000) },
      { opcode: Op.Close, payload: closePayload(1000) },
    ]);
    await peer.expectClose(1000, { reply: false });
    await peer.expectEof();
  },
);

conformance("7.1.3 close then ping: no pong", async (peer) => {
  await peer.sendFrames([
    { opcode: Op.Close, payload: closePayload(1000) },
    { opcode: Op.Ping, payload: "Hello World!" },
  ]);
  await peer.expectClose(1000, { reply: false });
  await peer.expectEof();
});

conformance("7.1.4 close then text: no echo", async (peer) => {
  await peer.sendFrames([
    { opcode: Op.Close, payload: closePayload(1000) },
    { opcode: Op.Text, payload: "Hello World!" },
  ]);
  await peer.expectClose(1000, { reply: false });
  await peer.expectEof();
});

conformance(
  "7.1.5 first fragment, close, last fragment: close echoed at once, no message",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: "fragment1", fin: false },
      { opcode: Op.Close, payload: closePayload(1000) },
      { opcode: Op.Continuation, payload: "fragment2" },
    ]);
    await peer.expectClose(1000, { reply: false, timeoutMs: 1000 });
    await peer.expectEof();
  },
);

conformance(
  "7.1.6 256 KiB message, small message, close, ping: both echoed, then close, no pong",
  async (peer) => {
    const big = new TextDecoder().decode(repeat("BAsd7&jh23", 256 * 1024));
    await peer.sendFrames([
      { opcode: Op.Text, payload: big },
      { opcode: Op.Text, payload: "Hello World!" },
      { opcode: Op.Close, payload: closePayload(1000) },
      { opcode: Op.Ping },
    ]);
    await peer.expectMessage(big);
    await peer.expectMessage("Hello World!");
    await peer.expectClose(1000, { reply: false });
    await peer.expectEof();
  },
);

conformance(
  "7.3.1 empty close is answered with an empty close",
  async (peer) => {
    await peer.closeHandshake(undefined);
  },
);

conformance(
  "7.3.2 close with a 1-byte payload fails with 1002",
  async (peer) => {
    await peer.sendFrame({ opcode: Op.Close, payload: "a" });
    await peer.expectFailure(1002);
  },
);

conformance("7.3.3 close 1000 without reason is echoed", async (peer) => {
  await peer.closeHandshake(1000);
});

conformance(
  "7.3.4 close 1000 with a reason is echoed with it",
  async (peer) => {
    await peer.closeHandshake(1000, "Hello World!");
  },
);

conformance(
  "7.3.5 close 1000 with a 123-byte reason is echoed with it",
  async (peer) => {
    await peer.closeHandshake(1000, "*".repeat(123));
  },
);

conformance(
  "7.3.6 close with a 124-byte reason (payload 126) fails with 1002",
  async (peer) => {
    await peer.sendClose(1000, "*".repeat(124));
    await peer.expectFailure(1002);
  },
);

conformance(
  "7.5.1 close with a reason that is not UTF-8 fails with 1007",
  async (peer) => {
    await peer.sendClose(1000, hex("cebae1bdb9cf83cebcceb5eda080656469746564"));
    await peer.expectFailure(1007);
  },
);

const VALID_CODES = [
  1000,
  1001,
  1002,
  1003,
  1007,
  1008,
  1009,
  1010,
  1011,
  3000,
  3999,
  4000,
  4999,
];
VALID_CODES.forEach((code, i) => {
  conformance(
    `7.7.${i + 1} close with valid code ${code} is echoed`,
    async (peer) => {
      await peer.closeHandshake(code);
    },
  );
});

// Registered with IANA after RFC 6455; Autobahn no longer lists them as invalid.
for (const code of [1012, 1013, 1014]) {
  conformance(
    `7.7.x close with registered code ${code} is echoed`,
    async (peer) => {
      await peer.closeHandshake(code);
    },
  );
}

const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
INVALID_CODES.forEach((code, i) => {
  conformance(
    `7.9.${i + 1} close with invalid code ${code} fails with 1002`,
    async (peer) => {
      await peer.sendClose(code);
      await peer.expectFailure(1002);
    },
  );
});

conformance(
  "7.9.x close with reserved code 1015 (TLS failure, never on the wire) fails with 1002",
  async (peer) => {
    await peer.sendClose(1015);
    await peer.expectFailure(1002);
  },
);

for (const [id, code] of [["7.13.1", 5000], ["7.13.2", 65535]] as const) {
  conformance(
    `${id} close with out-of-range code ${code} fails with 1002`,
    async (peer) => {
      await peer.sendClose(code);
      await peer.expectFailure(1002);
    },
  );
}

// ---- our own close cases ---------------------------------------------------

conformance(
  "7.x the server closes TCP promptly after answering a close",
  async (peer) => {
    await peer.sendClose(1000);
    const close = await peer.expectClose(1000, { reply: false });
    const before = peer.now();
    await peer.expectEof(1000);
    assert.ok(
      peer.now() - before < 500,
      `TCP closed ${peer.now() - close.at} ms after the close frame`,
    );
  },
);

conformance(
  "7.x close reason with multi-byte UTF-8 is echoed byte for byte",
  async (peer) => {
    await peer.closeHandshake(4000, "κόσμε \u{1F600} adiós");
  },
);

conformance(
  "7.x close reason starting with a byte order mark is echoed with it",
  async (peer) => {
    await peer.closeHandshake(1000, "\uFEFFbye");
  },
);

conformance(
  "7.x close frame written byte by byte is echoed",
  async (peer) => {
    await peer.sendClose(3000, "slowly", { chop: 1, delayMs: 1 });
    await peer.expectClose(3000, { reply: false, reason: "slowly" });
    await peer.expectEof();
  },
);

conformance(
  "7.x close with a 1-byte reason of a truncated UTF-8 sequence fails with 1007",
  async (peer) => {
    await peer.sendClose(1000, hex("c3"));
    await peer.expectFailure(1007);
  },
);

conformance(
  "7.x close between fragments of a binary message: close echoed at once, no message",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Binary,
      payload: new Uint8Array([1]),
      fin: false,
    });
    await peer.expectNothing(20);
    await peer.sendClose(1001, "leaving");
    await peer.expectClose(1001, {
      reply: false,
      reason: "leaving",
      timeoutMs: 1000,
    });
    await peer.expectEof();
  },
);

conformance(
  "7.x server shutdown: close 1001, then TCP closed once the client answers",
  async (peer, server) => {
    const closing = server.close();
    const close = await peer.expectClose(1001, { reply: false });
    await peer.expectNothing(50);
    await peer.sendClose(close.code);
    await peer.expectEof();
    await closing;
  },
);

conformance(
  "7.x server-initiated close that the client never answers: TCP closed after closeTimeout",
  async (peer, server) => {
    const closing = server.close();
    await peer.expectClose(1001, { reply: false });
    const start = peer.now();
    await peer.expectEof(2000);
    assert.ok(peer.now() - start >= 200, "closed before closeTimeout");
    await closing;
  },
  { server: { closeTimeout: 300 } },
);

conformance(
  "7.x messages received before the close are all echoed before the close answer",
  async (peer) => {
    // Enough to fill the server's transport past sendHighWaterMark (1 MiB), so
    // that later echoes wait in the socket's send queue when the close arrives.
    const messages = [0, 1, 2, 3].map((i) =>
      repeat(new Uint8Array([i, 0xaa, 0x55]), 1024 * 1024)
    );
    await peer.sendFrames([
      ...messages.map((payload) => ({ opcode: Op.Binary, payload })),
      { opcode: Op.Close, payload: closePayload(1000) },
    ]);
    for (const message of messages) await peer.expectMessage(message);
    await peer.expectClose(1000, { reply: false });
    await peer.expectEof();
  },
);
