// A client that sends messages and closes at once, every frame in one TCP
// write: every message reaches the application in every reading mode, and
// every reply goes out before the server's close frame, except where Deno's
// own socket has already answered the close (native backend, replies from
// anywhere but a message listener), which the native docs state.

import assert from "node:assert/strict";
import type { Socket } from "../../mod.ts";
import { HARNESSES } from "../helpers/harness.ts";
import { FrameReader, maskedFrame, rawWebSocket } from "../helpers/raw.ts";

const MESSAGES = 5;
const ROUNDS = 20;

type Mode = "for await" | "receive()" | "readable" | "message listener";
const MODES: readonly Mode[] = [
  "for await",
  "receive()",
  "readable",
  "message listener",
];

/** Echoes every message in one reading mode; records what it received. */
async function echo(
  socket: Socket,
  mode: Mode,
  received: string[],
): Promise<void> {
  const reply = (data: string | Uint8Array) => {
    received.push(String(data));
    // A reply Deno can no longer send fails with a closed error; what
    // arrives is checked on the client's side.
    return socket.send(data).catch(() => {});
  };
  if (mode === "message listener") {
    socket.addEventListener("message", ({ data }) => reply(data));
    await socket.closed;
  } else if (mode === "for await") {
    for await (const message of socket) await reply(message);
  } else if (mode === "readable") {
    for await (const message of socket.readable) await reply(message);
  } else {
    while (true) {
      const piece = await socket.receive();
      if (piece.type === "close") break;
      assert.ok(piece.endOfMessage, "a small message comes in one piece");
      await reply(new TextDecoder().decode(piece.data));
    }
  }
}

/** Sends MESSAGES texts and a close frame in one write; returns the texts echoed. */
async function sendAndClose(port: number): Promise<string[]> {
  const conn = await rawWebSocket(port);
  try {
    const frames = [
      ...Array.from({ length: MESSAGES }, (_, i) => maskedFrame(1, `m${i}`)),
      maskedFrame(8, new Uint8Array([0x03, 0xe8])),
    ];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let offset = 0;
    for (const frame of frames) {
      all.set(frame, offset);
      offset += frame.length;
    }
    await conn.write(all);
    const reader = new FrameReader(conn);
    const echoed: string[] = [];
    const decoder = new TextDecoder();
    while (true) {
      const event = await reader.next();
      if (event === undefined || event.kind === "close") return echoed;
      if (event.kind === "data") echoed.push(decoder.decode(event.data));
    }
  } finally {
    conn.close();
  }
}

for (const harness of HARNESSES) {
  for (const mode of MODES) {
    // Deno answers a close frame in Rust the moment it reads it, right after
    // dispatching the message before it and before any promise continuation
    // runs: only a message listener's replies are sure to go out first.
    const allReplies = harness.name !== "native" ||
      mode === "message listener";
    Deno.test(
      `${harness.name}, ${mode}: every message ${
        allReplies ? "and every reply" : "(the replies Deno sends in order)"
      } before a close sent at once`,
      async () => {
        const received: string[] = [];
        const done: Promise<void>[] = [];
        const server = await harness.serve({}, (socket) => {
          const work = echo(socket, mode, received);
          done.push(work);
          return work;
        });
        try {
          const expected = Array.from({ length: MESSAGES }, (_, i) => `m${i}`);
          for (let round = 0; round < ROUNDS; round++) {
            const echoed = await sendAndClose(server.port);
            await Promise.all(done);
            assert.deepEqual(received, expected, `round ${round}: received`);
            if (allReplies) {
              assert.deepEqual(echoed, expected, `round ${round}: replies`);
            } else {
              assert.deepEqual(
                echoed,
                expected.slice(0, echoed.length),
                `round ${round}: the replies that arrive come in order`,
              );
            }
            received.length = 0;
            done.length = 0;
          }
        } finally {
          await server.close();
        }
      },
    );
  }
}
