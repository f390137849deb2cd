/**
 * examples/chat/main.ts on each backend, run as a child process and driven
 * by real WebSocket clients: delivery to every member of a room (the sender
 * included) in one order, binary messages unchanged, rooms kept apart, bad
 * room names refused with 400, statistics only for sockets that ask, and a
 * graceful SIGTERM.
 */

import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startChat } from "../helpers/chat.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

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
