/**
 * Autobahn section 10, miscellaneous: a message auto-fragmented by the
 * client comes back whole; plus our own cases on pipelining (many messages
 * and pings in one write), interleaving, isolation between connections
 * (SPEC X1) and the shape of the server's own frames.
 */

import assert from "node:assert/strict";
import { conformance } from "./echo_server.ts";
import {
  assertServerFrames,
  encodeFrame,
  equalBytes,
  fragments,
  type FrameSpec,
  Op,
  Peer,
  type PeerEvent,
  repeat,
} from "./peer.ts";
import { concat } from "../helpers/bytes.ts";

conformance(
  "10.1.1 text message of 65536 bytes auto-fragmented into 1300-byte frames is echoed whole",
  async (peer) => {
    const payload = repeat("*", 65536);
    await peer.sendFrames(fragments(Op.Text, payload, 1300));
    await peer.expectMessage(new TextDecoder().decode(payload));
    await peer.closeHandshake(1000);
  },
);

// ---- our own cases -----------------------------------------------------------

conformance(
  "10.x 200 messages of alternating types in one write come back in order",
  async (peer) => {
    const messages = Array.from({ length: 200 }, (_, i) => ({
      type: i % 2 === 0 ? "text" as const : "binary" as const,
      payload: repeat(`m${i}-`, i * 7),
    }));
    await peer.write(
      concat(
        messages.map(({ type, payload }) =>
          encodeFrame({
            opcode: type === "text" ? Op.Text : Op.Binary,
            payload,
          })
        ),
      ),
    );
    for (const { type, payload } of messages) {
      await peer.expectMessage(payload, { type });
    }
    await peer.closeHandshake(1000);
  },
);

conformance(
  "10.x messages and pings in one write: every echo and every pong, each in order",
  async (peer) => {
    const frames: FrameSpec[] = [];
    for (let i = 0; i < 20; i++) {
      frames.push({ opcode: Op.Text, payload: `message ${i}` });
      frames.push({ opcode: Op.Ping, payload: `ping ${i}` });
    }
    await peer.sendFrames(frames);
    const events: PeerEvent[] = [];
    for (let i = 0; i < 40; i++) events.push(await peer.next());
    const texts = events.flatMap((event) =>
      event.kind === "message" ? [new TextDecoder().decode(event.data)] : []
    );
    const pongs = events.flatMap((event) =>
      event.kind === "pong" ? [new TextDecoder().decode(event.data)] : []
    );
    assert.deepEqual(
      texts,
      frames.filter((_, i) => i % 2 === 0).map((f) => f.payload),
    );
    assert.deepEqual(
      pongs,
      frames.filter((_, i) => i % 2 === 1).map((f) => f.payload),
    );
    await peer.closeHandshake(1000);
  },
);

conformance(
  "10.x fragments of a message interleaved with pings and pongs, written in odd chops",
  async (peer) => {
    const payload = repeat("0123456789abcdef", 10_000);
    const frames: FrameSpec[] = [];
    fragments(Op.Binary, payload, 999).forEach((frame, i) => {
      frames.push(frame);
      if (i % 3 === 0) frames.push({ opcode: Op.Ping, payload: `p${i}` });
      if (i % 4 === 0) frames.push({ opcode: Op.Pong, payload: "unsolicited" });
    });
    await peer.sendFrames(frames, { chop: 333 });
    const pings = frames.filter((frame) => frame.opcode === Op.Ping);
    for (const ping of pings) await peer.expectPong(ping.payload);
    await peer.expectMessage(payload);
    await peer.closeHandshake(1000);
  },
);

conformance(
  "10.x a ping sent while a 1 MiB echo is on its way is answered",
  async (peer) => {
    const payload = repeat(new Uint8Array([1, 2, 3, 4, 5]), 1024 * 1024);
    await peer.sendFrames([
      { opcode: Op.Binary, payload },
      { opcode: Op.Ping, payload: "during" },
    ]);
    // Either order is right: the pong may overtake the echo or follow it.
    const first = await peer.next(undefined, "the echo or the pong");
    const second = await peer.next(undefined, "the echo or the pong");
    const [message, pong] = first.kind === "pong"
      ? [second, first]
      : [first, second];
    assert.equal(message.kind, "message", peer.describe());
    assert.equal(pong.kind, "pong", peer.describe());
    if (message.kind === "message") {
      assert.equal(message.opcode, Op.Binary);
      assert.ok(equalBytes(message.data, payload), "echo content differs");
    }
    if (pong.kind === "pong") {
      assert.equal(new TextDecoder().decode(pong.data), "during");
    }
    await peer.closeHandshake(1000);
  },
);

conformance(
  "10.x 50 binary messages of 64 KiB then a close: all echoed, then the close",
  async (peer) => {
    const messages = Array.from(
      { length: 50 },
      (_, i) => repeat(new Uint8Array([i, 255 - i]), 64 * 1024),
    );
    await peer.sendFrames([
      ...messages.map((payload) => ({ opcode: Op.Binary, payload })),
      { opcode: Op.Close, payload: new Uint8Array([0x03, 0xe8]) },
    ]);
    for (const message of messages) await peer.expectMessage(message);
    await peer.expectClose(1000, { reply: false });
    await peer.expectEof();
  },
);

conformance(
  "10.x the server's frames are unmasked, RSV-free and use minimal lengths",
  async (peer) => {
    const lengths = [0, 125, 126, 65535, 65536, 200_000];
    for (const length of lengths) {
      const payload = repeat(new Uint8Array([7]), length);
      await peer.sendBinary(payload);
      await peer.expectMessage(payload);
    }
    await peer.ping("x");
    await peer.expectPong("x");
    await peer.closeHandshake(1000, "done");
    const { frames } = peer.rawFrames();
    assertServerFrames(frames);
    assert.deepEqual(
      frames.map((frame) => frame.opcode),
      [...lengths.map(() => Op.Binary), Op.Pong, Op.Close],
    );
  },
);

conformance(
  "10.x a protocol error on one connection leaves the others untouched (X1)",
  async (peer, server) => {
    const others = await Promise.all(
      [0, 1, 2].map(() => Peer.connect({ port: server.port })),
    );
    try {
      // Each other peer has half a message in flight when the first one fails.
      await Promise.all(
        others.map((other, i) =>
          other.sendFrame({
            opcode: Op.Text,
            payload: `half ${i} `,
            fin: false,
          })
        ),
      );
      await peer.sendFrame({ opcode: 5 });
      await peer.expectFailure(1002);
      await Promise.all(others.map(async (other, i) => {
        await other.sendFrame({ opcode: Op.Continuation, payload: "whole" });
        await other.expectMessage(`half ${i} whole`);
        await other.ping("alive");
        await other.expectPong("alive");
        await other.closeHandshake(1000);
      }));
    } finally {
      await Promise.all(others.map((other) => other.dispose()));
    }
  },
);

conformance(
  "10.x ten connections send fragmented messages at the same time",
  async (_peer, server) => {
    const peers = await Promise.all(
      Array.from({ length: 10 }, () => Peer.connect({ port: server.port })),
    );
    try {
      await Promise.all(peers.map(async (peer, i) => {
        const payload = repeat(`connection ${i}|`, 20_000 + i);
        await peer.sendFrames(fragments(Op.Text, payload, 1000), {
          chop: 4096,
        });
        await peer.expectMessage(new TextDecoder().decode(payload));
        await peer.closeHandshake(1000);
      }));
    } finally {
      await Promise.all(peers.map((peer) => peer.dispose()));
    }
  },
);

conformance(
  "10.x a client that drops TCP without a close frame ends the server socket as a disconnect",
  async (peer, server) => {
    await peer.sendText("bye");
    await peer.expectMessage("bye");
    await peer.dispose();
    await server.sockets[0]!.closed;
    const [outcome] = server.outcomes;
    assert.equal(outcome?.code, 1006);
    assert.equal(outcome?.ending, "disconnect");
  },
);
