/**
 * The `heartbeat` server option on both backends: the browser client's
 * heartbeat is answered and kept from the application; everything else,
 * near misses included, reaches the application unchanged. On the engine, a
 * heartbeat split into fragments or across TCP writes is recognised too.
 */

import assert from "node:assert/strict";
import { HEARTBEAT_PING, HEARTBEAT_PONG } from "../../lib/browser/mod.ts";
import type { MessageData, Socket } from "../../mod.ts";
import { engineHarness, HARNESSES } from "../helpers/harness.ts";
import { FrameReader, maskedFrame, rawWebSocket } from "../helpers/raw.ts";

/** An application that records what it sees and echoes it with a prefix. */
function recorder(seen: MessageData[]) {
  return async (socket: Socket) => {
    for await (const message of socket) {
      seen.push(message);
      await socket.send(
        typeof message === "string" ? `echo:${message}` : message,
      );
    }
  };
}

/** Opens a Deno WebSocket, sends `messages`, returns the first `count` answers. */
async function exchange(
  url: string,
  messages: (string | Uint8Array)[],
  count: number,
): Promise<(string | Uint8Array)[]> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const answers: (string | Uint8Array)[] = [];
  const done = Promise.withResolvers<void>();
  ws.onmessage = ({ data }) => {
    answers.push(typeof data === "string" ? data : new Uint8Array(data));
    if (answers.length === count) done.resolve();
  };
  ws.onerror = () => done.reject(new Error("socket failed"));
  await new Promise((resolve) => ws.onopen = resolve);
  for (const message of messages) ws.send(message);
  const timer = setTimeout(
    () => done.reject(new Error(`got ${JSON.stringify(answers)}`)),
    5000,
  );
  try {
    await done.promise;
  } finally {
    clearTimeout(timer);
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await closed;
  }
  return answers;
}

const NEAR_MISSES = [
  `${HEARTBEAT_PING} `,
  HEARTBEAT_PING.slice(0, -1),
  "socketry:ping",
  HEARTBEAT_PONG,
];

for (const harness of HARNESSES) {
  Deno.test(`heartbeat (${harness.name}): answered with the pong and never handed to the application`, async () => {
    const seen: MessageData[] = [];
    const server = await harness.serve({ heartbeat: true }, recorder(seen));
    try {
      const answers = await exchange(
        server.url,
        ["a", HEARTBEAT_PING, "b", HEARTBEAT_PING, ...NEAR_MISSES],
        4 + NEAR_MISSES.length,
      );
      // The pong goes out as the ping arrives, ahead of replies the
      // application has yet to send.
      assert.equal(answers.filter((a) => a === HEARTBEAT_PONG).length, 2);
      assert.deepEqual(answers.filter((a) => a !== HEARTBEAT_PONG), [
        "echo:a",
        "echo:b",
        ...NEAR_MISSES.map((text) => `echo:${text}`),
      ]);
      assert.deepEqual(seen, ["a", "b", ...NEAR_MISSES]);
    } finally {
      await server.close();
    }
  });

  Deno.test(`heartbeat (${harness.name}): the same bytes as binary are application data`, async () => {
    const seen: MessageData[] = [];
    const server = await harness.serve({ heartbeat: true }, recorder(seen));
    try {
      const bytes = new TextEncoder().encode(HEARTBEAT_PING);
      assert.deepEqual(await exchange(server.url, [bytes], 1), [bytes]);
      assert.deepEqual(seen, [bytes]);
    } finally {
      await server.close();
    }
  });

  Deno.test(`heartbeat (${harness.name}): off by default, the ping is an ordinary message`, async () => {
    const seen: MessageData[] = [];
    const server = await harness.serve({}, recorder(seen));
    try {
      assert.deepEqual(await exchange(server.url, [HEARTBEAT_PING], 1), [
        `echo:${HEARTBEAT_PING}`,
      ]);
      assert.deepEqual(seen, [HEARTBEAT_PING]);
    } finally {
      await server.close();
    }
  });
}

const TEXT = 0x1;
const CONTINUATION = 0x0;

/** Reads the next complete text message from the raw connection. */
async function nextText(reader: FrameReader): Promise<string> {
  let text = "";
  while (true) {
    const event = await reader.next();
    if (event === undefined) throw new Error("connection closed");
    if (event.kind !== "data") continue;
    text += new TextDecoder().decode(event.data);
    if (event.messageEnd) return text;
  }
}

Deno.test("heartbeat (engine): recognised in fragments and across writes; near misses pass whole, in order", async () => {
  const seen: MessageData[] = [];
  const server = await engineHarness.serve({ heartbeat: true }, recorder(seen));
  const conn = await rawWebSocket(server.port);
  const reader = new FrameReader(conn);
  try {
    // Fragmented: "\0socketry" + ":ping".
    await conn.write(maskedFrame(TEXT, HEARTBEAT_PING.slice(0, 9), false));
    await conn.write(maskedFrame(CONTINUATION, HEARTBEAT_PING.slice(9)));
    assert.equal(await nextText(reader), HEARTBEAT_PONG);

    // One frame cut across two writes.
    const frame = maskedFrame(TEXT, HEARTBEAT_PING);
    await conn.write(frame.subarray(0, 9));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await conn.write(frame.subarray(9));
    assert.equal(await nextText(reader), HEARTBEAT_PONG);

    // Starts like a heartbeat, is not one: delivered whole.
    await conn.write(maskedFrame(TEXT, HEARTBEAT_PING.slice(0, 9), false));
    await conn.write(maskedFrame(CONTINUATION, ":pi", false));
    await conn.write(maskedFrame(CONTINUATION, "nk and more"));
    assert.equal(await nextText(reader), `echo:\u0000socketry:pink and more`);

    // A heartbeat followed by more text in the same message is not one.
    await conn.write(maskedFrame(TEXT, HEARTBEAT_PING, false));
    await conn.write(maskedFrame(CONTINUATION, "!"));
    assert.equal(await nextText(reader), `echo:${HEARTBEAT_PING}!`);

    // A long fragmented message passes through untouched.
    const long = "x".repeat(70_000);
    await conn.write(maskedFrame(TEXT, long.slice(0, 40_000), false));
    await conn.write(maskedFrame(CONTINUATION, long.slice(40_000)));
    assert.equal(await nextText(reader), `echo:${long}`);

    await conn.write(maskedFrame(TEXT, "last"));
    assert.equal(await nextText(reader), "echo:last");
    assert.deepEqual(seen, [
      "\u0000socketry:pink and more",
      `${HEARTBEAT_PING}!`,
      long,
      "last",
    ]);
  } finally {
    conn.close();
    await server.close();
  }
});
