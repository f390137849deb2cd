/**
 * Autobahn section 9, limits and performance (sizes capped at 4 MiB and
 * counts at 1000 to keep the suite fast), and the limits of SPEC X1: a
 * message over maxMessageSize fails with 1009 as soon as its header shows it,
 * a flood of fragments with 1008, a stalled handshake is dropped.
 */

import assert from "node:assert/strict";
import { conformance } from "./echo_server.ts";
import { delay, encodeFrame, fragments, Op, Peer, repeat } from "./peer.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Generous bounds for large cases: a healthy server needs a fraction. */
const LARGE_TIMEOUT = 10_000;

function text(length: number): string {
  return "*".repeat(length);
}

function binary(length: number): Uint8Array {
  return repeat(new Uint8Array([0xfe, 0x01, 0x7f]), length);
}

const SIZES = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];

SIZES.forEach((size, i) => {
  conformance(
    `9.1.${i + 1} text message of ${size / KiB} KiB is echoed`,
    async (peer) => {
      const payload = text(size);
      await peer.sendText(payload);
      await peer.expectMessage(payload, { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
  conformance(
    `9.2.${i + 1} binary message of ${size / KiB} KiB is echoed`,
    async (peer) => {
      const payload = binary(size);
      await peer.sendBinary(payload);
      await peer.expectMessage(payload, { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
});

const FRAGMENT_SIZES = [
  64,
  256,
  1 * KiB,
  4 * KiB,
  16 * KiB,
  64 * KiB,
  256 * KiB,
  1 * MiB,
  4 * MiB,
];

FRAGMENT_SIZES.forEach((size, i) => {
  const total = 4 * MiB;
  conformance(
    `9.3.${
      i + 1
    } text message of 4 MiB in fragments of ${size} bytes is echoed`,
    async (peer) => {
      const payload = repeat("*", total);
      await peer.sendFrames(fragments(Op.Text, payload, size));
      await peer.expectMessage(text(total), { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
  conformance(
    `9.4.${
      i + 1
    } binary message of 4 MiB in fragments of ${size} bytes is echoed`,
    async (peer) => {
      const payload = binary(total);
      await peer.sendFrames(fragments(Op.Binary, payload, size));
      await peer.expectMessage(payload, { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
});

// The same at 1 MiB, which the pause above does not reach, so that
// fragmented large messages are exercised today.
for (const size of [256, 4 * KiB, 64 * KiB]) {
  conformance(
    `9.3.x text message of 1 MiB in fragments of ${size} bytes is echoed`,
    async (peer) => {
      const payload = repeat("*", MiB);
      await peer.sendFrames(fragments(Op.Text, payload, size));
      await peer.expectMessage(text(MiB), { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
}

const CHOPS = [64, 128, 256, 512, 1024, 2048];

CHOPS.forEach((chop, i) => {
  conformance(
    `9.5.${
      i + 1
    } text message of 1 MiB written in chops of ${chop} bytes is echoed`,
    async (peer) => {
      const payload = text(MiB);
      await peer.sendText(payload, { chop });
      await peer.expectMessage(payload, { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
  conformance(
    `9.6.${
      i + 1
    } binary message of 1 MiB written in chops of ${chop} bytes is echoed`,
    async (peer) => {
      const payload = binary(MiB);
      await peer.sendBinary(payload, { chop });
      await peer.expectMessage(payload, { timeoutMs: LARGE_TIMEOUT });
      await peer.closeHandshake(1000);
    },
  );
});

const ROUND_TRIP_SIZES = [0, 16, 64, 256, 1024, 4096];
const ROUND_TRIPS = 1000;

ROUND_TRIP_SIZES.forEach((size, i) => {
  conformance(
    `9.7.${
      i + 1
    } ${ROUND_TRIPS} text messages of ${size} bytes, one round trip each`,
    async (peer) => {
      const payload = text(size);
      for (let n = 0; n < ROUND_TRIPS; n++) {
        await peer.sendText(payload);
        await peer.expectMessage(payload);
      }
      await peer.closeHandshake(1000);
    },
  );
  conformance(
    `9.8.${
      i + 1
    } ${ROUND_TRIPS} binary messages of ${size} bytes, one round trip each`,
    async (peer) => {
      const payload = binary(size);
      for (let n = 0; n < ROUND_TRIPS; n++) {
        await peer.sendBinary(payload);
        await peer.expectMessage(payload);
      }
      await peer.closeHandshake(1000);
    },
  );
});

// ---- limits (SPEC X1) -------------------------------------------------------

const LIMIT = { maxMessageSize: 1000 };

conformance(
  "9.x a message of exactly maxMessageSize is echoed",
  async (peer) => {
    const payload = binary(1000);
    await peer.sendBinary(payload);
    await peer.expectMessage(payload);
    await peer.closeHandshake(1000);
  },
  { server: LIMIT },
);

conformance(
  "9.x a frame over maxMessageSize fails with 1009 as soon as its header arrives",
  async (peer) => {
    const frame = encodeFrame({ opcode: Op.Binary, payload: binary(1001) });
    await peer.write(frame.subarray(0, 8)); // header and key only
    await peer.expectFailure(1009);
  },
  { server: LIMIT },
);

conformance(
  "9.x a fragmented message growing past maxMessageSize fails with 1009, no echo",
  async (peer) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: text(600), fin: false },
      { opcode: Op.Continuation, payload: text(401) },
    ]);
    await peer.expectFailure(1009);
  },
  { server: LIMIT },
);

conformance(
  "9.x a text message over maxMessageSize in multi-byte UTF-8 fails with 1009",
  async (peer) => {
    await peer.sendText("é".repeat(501)); // 1002 bytes
    await peer.expectFailure(1009);
  },
  { server: LIMIT },
);

conformance(
  "9.x after a 1009, other messages on other connections still echo",
  async (peer, server) => {
    const other = await Peer.connect({ port: server.port });
    try {
      await peer.sendBinary(binary(2000));
      await peer.expectFailure(1009);
      await other.sendText("still here");
      await other.expectMessage("still here");
      await other.closeHandshake(1000);
    } finally {
      await other.dispose();
    }
  },
  { server: LIMIT },
);

conformance(
  "9.x a flood of 65537 empty fragments fails with 1008 (maxFragments)",
  async (peer) => {
    const frames: Uint8Array[] = [];
    frames.push(encodeFrame({ opcode: Op.Text, fin: false }));
    const empty = encodeFrame({ opcode: Op.Continuation, fin: false });
    for (let i = 0; i < 65536; i++) frames.push(empty);
    const flood = new Uint8Array(frames.length * 6);
    frames.forEach((frame, i) => flood.set(frame, i * 6));
    await peer.write(flood);
    await peer.expectFailure(1008);
  },
);

conformance(
  "9.x many connections at once each get their own echoes",
  async (_peer, server) => {
    const peers = await Promise.all(
      Array.from({ length: 20 }, () => Peer.connect({ port: server.port })),
    );
    try {
      await Promise.all(peers.map(async (peer, i) => {
        for (let n = 0; n < 10; n++) {
          const message = `peer ${i} message ${n}`;
          await peer.sendText(message);
          await peer.expectMessage(message);
        }
        await peer.closeHandshake(1000);
      }));
    } finally {
      await Promise.all(peers.map((peer) => peer.dispose()));
    }
  },
);

Deno.test("9.x a stalled handshake is dropped after handshakeTimeout", async () => {
  const { startEchoServer } = await import("./echo_server.ts");
  const server = await startEchoServer({ handshakeTimeout: 200 });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(
      new TextEncoder().encode("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
    );
    const start = performance.now();
    const buffer = new Uint8Array(1024);
    const ended = (async () => {
      try {
        while ((await conn.read(buffer)) !== null) { /* drain */ }
      } catch {
        // A reset is a close too.
      }
    })();
    const timer = delay(3000).then(() => "timeout" as const);
    const outcome = await Promise.race([
      ended.then(() => "closed" as const),
      timer,
    ]);
    assert.equal(outcome, "closed", "the stalled connection was not dropped");
    const elapsed = performance.now() - start;
    assert.ok(elapsed >= 150, `dropped too early (${elapsed} ms)`);
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    await server.close();
  }
});
