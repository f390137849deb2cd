/**
 * examples/chat/main.ts on each backend, run as a child process and driven
 * by real WebSocket clients: delivery to every member of a room (the sender
 * included) in one order, binary messages unchanged, rooms kept apart, bad
 * room names refused with 400, statistics only for sockets that ask, and a
 * graceful SIGTERM.
 */

import assert from "node:assert/strict";
import { TestClient, waitFor } from "../helpers/client.ts";
import { startChat } from "../helpers/chat.ts";
import { constants, inflateRawSync } from "node:zlib";
import { connect } from "../../lib/client/mod.ts";
import type { MessageData } from "../../lib/socket/mod.ts";
import { concat } from "../helpers/bytes.ts";
import { FrameReader, handshakeRequest, rawHttp } from "../helpers/raw.ts";

const BACKENDS = [
  { label: "native", args: [] },
  { label: "engine", args: ["--backend", "engine"] },
  {
    label: "engine with --compression",
    args: ["--backend", "engine", "--compression"],
  },
];

const PER_SENDER = 100;

/** Collects `count` messages, then checks that nothing more arrives. */
async function receiveExactly(client: TestClient, count: number) {
  const messages: (string | ArrayBuffer)[] = [];
  for (let i = 0; i < count; i++) messages.push(await client.next(10_000));
  return messages;
}

for (const { label, args } of BACKENDS) {
  Deno.test(`chat, ${label}: every member gets every message of its room once, in one order`, async () => {
    const chat = await startChat(args);
    try {
      const room = `${chat.url}?room=r-1.x_y`;
      const members = await Promise.all(
        [0, 1, 2].map(() => TestClient.open(room)),
      );
      const elsewhere = await TestClient.open(`${chat.url}?room=other`);
      const lobby = await TestClient.open(chat.url); // no room: the lobby
      const lobbyNamed = await TestClient.open(`${chat.url}?room=lobby`);

      // Three senders at once, interleaved; one message is binary.
      const binary = new Uint8Array([0, 1, 2, 250, 255, 0x80]);
      for (let i = 0; i < PER_SENDER; i++) {
        members.forEach((member, m) => {
          if (m === 2 && i === 50) member.ws.send(binary);
          else member.ws.send(`${m}:${i}`);
        });
      }
      const received = await Promise.all(
        members.map((member) => receiveExactly(member, 3 * PER_SENDER)),
      );
      const shown = received.map((list) =>
        list.map((data) =>
          typeof data === "string" ? data : `bytes ${[...new Uint8Array(data)]}`
        )
      );
      // One order for every member, the sender's own messages included.
      assert.deepEqual(shown[1], shown[0]);
      assert.deepEqual(shown[2], shown[0]);
      // Each sender's messages in the order it sent them.
      for (let m = 0; m < 3; m++) {
        const mine = shown[0]!.filter((text) =>
          text.startsWith(`${m}:`) || (m === 2 && text.startsWith("bytes"))
        );
        assert.deepEqual(
          mine,
          Array.from(
            { length: PER_SENDER },
            (_, i) =>
              m === 2 && i === 50 ? `bytes ${[...binary]}` : `${m}:${i}`,
          ),
        );
      }
      const bytes = received[0]!.find((data) => data instanceof ArrayBuffer);
      assert.deepEqual(new Uint8Array(bytes as ArrayBuffer), binary);

      // Another room hears nothing; the lobby is the default room.
      lobby.ws.send("in the lobby");
      assert.equal(await lobbyNamed.next(), "in the lobby");
      assert.equal(await lobby.next(), "in the lobby");
      // Nothing else on sockets that did not ask (statistics tick each second).
      await assert.rejects(elsewhere.next(1500), /no message/);
      for (const member of members) {
        await assert.rejects(member.next(100), /no message/);
      }
      await assert.rejects(lobby.next(100), /no message/);

      // SIGTERM: every socket gets 1001, the process exits 0.
      const closes = [...members, elsewhere, lobby, lobbyNamed].map((client) =>
        client.closed
      );
      const { code } = await chat.stop();
      assert.equal(code, 0, chat.output());
      for (const event of await Promise.all(closes)) {
        assert.equal(event.code, 1001);
      }
      assert.match(chat.output(), /SIGTERM: closing 6 socket\(s\)/);
    } finally {
      await chat.stop().catch(() => {});
    }
  });

  Deno.test(`chat, ${label}: bad room names are refused with 400 and the reason`, async () => {
    const chat = await startChat(args);
    try {
      for (
        const query of [
          "room=",
          "room=a%20b",
          `room=${"x".repeat(65)}`,
          "room=%C3%A9t%C3%A9",
          "room=a/b",
        ]
      ) {
        const response = await rawHttp(
          chat.port,
          handshakeRequest(`/ws?${query}`),
        );
        assert.equal(response.status, 400, query);
        assert.match(
          response.body,
          /^Bad room name .*: a room name is 1 to 64 letters, digits, "-", "_" or "."\n$/,
        );
      }
      const longest = await TestClient.open(
        `${chat.url}?room=${"y".repeat(64)}`,
      );
      longest.ws.send("fits");
      assert.equal(await longest.next(), "fits");
      await longest.close();
    } finally {
      const { code } = await chat.stop();
      assert.equal(code, 0);
    }
  });

  Deno.test(`chat, ${label}: member counts and deliveries per second only for ?stats=1, text starting with NUL escaped there alone`, async () => {
    const chat = await startChat(args);
    try {
      const watcher = await TestClient.open(`${chat.url}?room=s&stats=1`);
      const first = await watcher.next() as string;
      assert.equal(first[0], "\u0000");
      const hello = JSON.parse(first.slice(1));
      assert.equal(hello.members, 1);
      assert.deepEqual(hello.history, []);

      const plain = await TestClient.open(`${chat.url}?room=s`);
      const update = async () => {
        for (;;) {
          const message = await watcher.next(3000) as string;
          assert.equal(message[0], "\u0000", `not a statistic: ${message}`);
          const stats = JSON.parse(message.slice(1));
          if (stats.members === 2) return stats;
        }
      };
      await update();
      plain.ws.send("hi");
      plain.ws.send("\u0000not stats");
      assert.equal(await plain.next(), "hi");
      assert.equal(await plain.next(), "\u0000not stats");
      // The watcher gets the chat lines among its statistics.
      const lines: string[] = [];
      let deliveries = 0;
      while (lines.length < 2 || deliveries < 4) {
        const message = await watcher.next(3000) as string;
        if (message.startsWith("\u0000\u0000")) lines.push(message.slice(1));
        else if (message.startsWith("\u0000")) {
          deliveries += JSON.parse(message.slice(1)).deliveries ?? 0;
        } else lines.push(message);
      }
      assert.deepEqual(lines, ["hi", "\u0000not stats"]);
      assert.equal(deliveries, 4, "2 messages to 2 members");
      await assert.rejects(plain.next(1200), /no message/);
      await plain.close();
      await watcher.close();
    } finally {
      const { code } = await chat.stop();
      assert.equal(code, 0);
    }
  });
}

Deno.test("chat, engine with --compression: a broadcast is compressed once for all members, without context takeover, and reaches each one unchanged, the sender included", async () => {
  const chat = await startChat(["--backend", "engine", "--compression"]);
  const room = `${chat.url}?room=squeezed`;
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: chat.port });
  try {
    const members = [
      await connect(room, { deflate: true }),
      await connect(room, { deflate: true }),
    ];
    for (const member of members) {
      assert.equal(
        member.extensions,
        "permessage-deflate; server_no_context_takeover",
      );
    }
    // A third member that reads the frames themselves.
    await raw.write(new TextEncoder().encode(handshakeRequest(
      "/ws?room=squeezed",
      ["Sec-WebSocket-Extensions: permessage-deflate"],
    )));
    const buffer = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await raw.read(buffer);
      assert.ok(n !== null, "the chat closed during the handshake");
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    assert.match(
      head,
      /^HTTP\/1\.1 101 [^]*\r\nsec-websocket-extensions: permessage-deflate; server_no_context_takeover\r\n/i,
    );
    const frames = new FrameReader(raw, { allowRsv1: true });
    const inboxes = members.map((member) => {
      const inbox: MessageData[] = [];
      member.addEventListener("message", ({ data }) => inbox.push(data));
      return inbox;
    });
    // Every member is in the room once the first message comes back.
    await members[0]!.send("ready?");
    await waitFor(() => inboxes.every((inbox) => inbox.length === 1));
    await frames.next();

    const line = "the same chat line, again and again; ".repeat(20);
    const binary = Uint8Array.from({ length: 300 }, (_, i) => i % 7);
    await members[1]!.send(line);
    await members[1]!.send(line);
    await members[0]!.send(binary);
    await waitFor(() => inboxes.every((inbox) => inbox.length === 4));
    for (const inbox of inboxes) {
      assert.deepEqual(inbox.slice(1), [line, line, binary]);
    }
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const event = await frames.next();
      assert.ok(event?.kind === "data" && event.compressed, "RSV1 set");
      payloads.push(event.data.slice());
    }
    const inflate = (payload: Uint8Array) =>
      new Uint8Array(
        inflateRawSync(concat([payload, Uint8Array.of(0, 0, 0xff, 0xff)]), {
          finishFlush: constants.Z_SYNC_FLUSH,
        }),
      );
    assert.equal(new TextDecoder().decode(inflate(payloads[0]!)), line);
    assert.ok(payloads[0]!.byteLength < line.length / 4, "it was compressed");
    // With context takeover the repeat would be a short back-reference.
    assert.deepEqual(payloads[1], payloads[0], "each message stands alone");
    assert.deepEqual(inflate(payloads[2]!), binary);
    for (const member of members) await member.close();
  } finally {
    raw.close();
    const { code } = await chat.stop();
    assert.equal(code, 0, chat.output());
  }
});
