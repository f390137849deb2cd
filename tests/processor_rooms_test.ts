/** Rooms of the socket processor, and broadcast storms with a stalled reader. */

import assert from "node:assert/strict";
import {
  type GroupChange,
  type Socket,
  SocketProcessor,
  type SocketProcessorOptions,
} from "../mod.ts";
import { Inbox, TestClient, waitFor } from "./helpers/client.ts";
import {
  engineHarness,
  type Harness,
  HARNESSES,
  nativeHarness,
} from "./helpers/harness.ts";
import { FrameReader, rawWebSocket } from "./helpers/raw.ts";

async function openSockets(
  harness: Harness,
  options: SocketProcessorOptions,
  count: number,
  serverOptions = {},
) {
  const processor = new SocketProcessor({ onError: () => {}, ...options });
  const sockets = new Inbox<Socket>();
  const server = await harness.serve(serverOptions, (socket) => {
    sockets.push(socket);
    return processor.add(socket);
  });
  const clients = await Promise.all(
    Array.from({ length: count }, () => TestClient.open(server.url)),
  );
  const serverSockets: Socket[] = [];
  for (let i = 0; i < count; i++) serverSockets.push(await sockets.next());
  await waitFor(() => serverSockets.every((socket) => socket.state === "open"));
  return { processor, server, clients, serverSockets, sockets };
}

Deno.test("rooms: join and leave, counts, change events, the sender included unless left out", async () => {
  const changes: Omit<GroupChange, "socket">[] = [];
  const { processor, server, clients, serverSockets } = await openSockets(
    nativeHarness,
    {
      onGroupChange: ({ group, joined, members }) =>
        changes.push({ group, joined, members }),
    },
    3,
  );
  const [a, b, c] = serverSockets as [Socket, Socket, Socket];
  processor.join(a, "room");
  processor.join(b, "room");
  processor.join(b, "room"); // twice: no change
  processor.join(c, "other");
  assert.equal(processor.count("room"), 2);
  assert.equal(processor.count("other"), 1);
  assert.equal(processor.count("nowhere"), 0);
  assert.deepEqual(processor.groups().sort(), ["other", "room"]);
  assert.deepEqual(processor.members("room"), [a, b]);

  // Sender included by default; `except` leaves it out.
  assert.deepEqual(await processor.sendToGroup("room", "everyone"), {
    sent: 2,
    failed: 0,
  });
  assert.deepEqual(
    await processor.sendToGroup("room", "others", { except: a }),
    { sent: 1, failed: 0 },
  );
  assert.equal(await clients[0]!.next(), "everyone");
  assert.equal(await clients[1]!.next(), "everyone");
  assert.equal(await clients[1]!.next(), "others");
  await assert.rejects(clients[0]!.next(100), /no message/);
  await assert.rejects(clients[2]!.next(100), /no message/);

  processor.leave(b, "room");
  processor.leave(b, "room"); // not a member any more: no change
  assert.equal(processor.count("room"), 1);
  processor.leave(c, "other");
  assert.deepEqual(processor.groups(), ["room"]);
  assert.deepEqual(changes, [
    { group: "room", joined: true, members: 1 },
    { group: "room", joined: true, members: 2 },
    { group: "other", joined: true, members: 1 },
    { group: "room", joined: false, members: 1 },
    { group: "other", joined: false, members: 0 },
  ]);
  await Promise.all(clients.map((client) => client.close()));
  await processor.shutdown();
  await server.close();
});

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: a socket that closed leaves its groups at once, while its work still runs`, async () => {
    const release = Promise.withResolvers<void>();
    const left: GroupChange[] = [];
    const { processor, server, clients, serverSockets } = await openSockets(
      harness,
      {
        onSocket: async (socket) => {
          await socket.closed;
          await release.promise; // work that outlives the socket
        },
        onGroupChange: (change) => {
          if (!change.joined) left.push(change);
        },
      },
      2,
    );
    const [a, b] = serverSockets as [Socket, Socket];
    processor.join(a, "room");
    processor.join(a, "second");
    processor.join(b, "room");
    let listedAtClose: Socket[] | undefined;
    // Listeners added after the processor's see the groups already updated.
    a.addEventListener("close", () => {
      listedAtClose = processor.members("room");
    });
    await clients[0]!.close(1000, "bye");
    await a.closed;
    assert.deepEqual(listedAtClose, [b]);
    assert.equal(processor.has(a), true, "its work still runs");
    assert.deepEqual(processor.members("room"), [b]);
    assert.deepEqual(processor.groupsOf(a), []);
    assert.equal(processor.count("second"), 0);
    assert.deepEqual(
      left.map(({ group, socket, members }) => [group, socket, members]),
      [["room", a, 1], ["second", a, 0]],
    );
    assert.throws(() => processor.join(a, "room"), /already closed/);
    assert.deepEqual(await processor.sendToGroup("room", "still here"), {
      sent: 1,
      failed: 0,
    });
    assert.equal(await clients[1]!.next(), "still here");
    release.resolve();
    await clients[1]!.close();
    await processor.shutdown();
    await server.close();
  });
}

/** Reads every frame of a raw connection until its close frame or EOF. */
async function readAll(conn: Deno.Conn) {
  const reader = new FrameReader(conn);
  const texts: string[] = [];
  let close: { code: number; reason: string } | undefined;
  let text = "";
  while (close === undefined) {
    const event = await reader.next(10_000);
    if (event === undefined) break;
    if (event.kind === "close") close = event;
    else if (event.kind === "data") {
      text += new TextDecoder().decode(event.data);
      if (event.messageEnd) {
        texts.push(text);
        text = "";
      }
    }
  }
  return { texts, close };
}

const MESSAGES = 3000;
const PAD = "x".repeat(8 * 1024);

/**
 * Publishes numbered 8 KiB messages to a room of fast readers and one reader
 * that has stopped, pacing the publisher a little as incoming traffic would.
 * Returns how long the longest `sendToGroup()` took and what it reported.
 */
async function storm(processor: SocketProcessor) {
  let longest = 0;
  let failed = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const start = performance.now();
    const result = await processor.sendToGroup("room", `${i} ${PAD}`);
    longest = Math.max(longest, performance.now() - start);
    failed += result.failed;
    if (i % 8 === 7) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return { longest, failed };
}

async function readersGetEverything(clients: TestClient[]) {
  for (const client of clients) {
    for (let i = 0; i < MESSAGES; i++) {
      const message = await client.next(10_000) as string;
      assert.equal(message.slice(0, message.indexOf(" ")), `${i}`);
    }
  }
}

for (const harness of [nativeHarness, engineHarness]) {
  Deno.test(`${harness.name}: a broadcast storm with a stalled reader closes it with 1008 and never slows the room`, async () => {
    const { processor, server, clients, serverSockets, sockets } =
      await openSockets(harness, { slowConsumer: "close" }, 3, {
        maxBufferedAmount: 4 * 1024 * 1024,
        sendHighWaterMark: 64 * 1024,
        closeTimeout: 60_000, // the close frame waits behind unread data
      });
    const stalled = await rawWebSocket(server.port); // reads nothing for now
    const slow = await sockets.next();
    await waitFor(() => slow.state === "open");
    for (const socket of [...serverSockets, slow]) {
      processor.join(socket, "room");
    }
    const reading = readersGetEverything(clients);
    const { longest, failed } = await storm(processor);
    await reading;
    assert.ok(
      longest < 1000,
      `one sendToGroup() took ${longest} ms: the stalled reader held it up`,
    );
    assert.ok(failed >= 1, "the stalled reader's queue must have filled");
    assert.equal(processor.count("room"), 3, "the slow consumer left the room");
    // The stalled reader gets an unbroken prefix, then the policy's close.
    const { texts, close } = await readAll(stalled);
    assert.deepEqual(close, {
      kind: "close",
      code: 1008,
      reason: "Slow consumer: send queue full",
    });
    assert.ok(texts.length > 0 && texts.length < MESSAGES);
    texts.forEach((text, i) =>
      assert.equal(text.slice(0, text.indexOf(" ")), `${i}`)
    );
    stalled.close();
    await Promise.all(clients.map((client) => client.close()));
    await processor.shutdown();
    await server.close();
  });
}

Deno.test("native: with slowConsumer skip, the stalled reader misses messages but stays, in order", async () => {
  const { processor, server, clients, serverSockets, sockets } =
    await openSockets(nativeHarness, { slowConsumer: "skip" }, 2, {
      maxBufferedAmount: 4 * 1024 * 1024,
      sendHighWaterMark: 64 * 1024,
    });
  const stalled = await rawWebSocket(server.port);
  const slow = await sockets.next();
  await waitFor(() => slow.state === "open");
  for (const socket of [...serverSockets, slow]) {
    processor.join(socket, "room");
  }
  const reading = readersGetEverything(clients);
  const { longest, failed } = await storm(processor);
  await reading;
  assert.ok(longest < 1000, `one sendToGroup() took ${longest} ms`);
  assert.ok(failed >= 1);
  assert.equal(slow.state, "open");
  assert.equal(processor.count("room"), 3);
  await processor.sendToGroup("room", "last");
  void slow.close(1000, "done");
  const { texts, close } = await readAll(stalled);
  assert.equal(close?.code, 1000);
  assert.equal(texts.at(-1), "last");
  const numbers = texts.slice(0, -1).map((text) =>
    Number(text.slice(0, text.indexOf(" ")))
  );
  assert.ok(numbers.length < MESSAGES, "some were skipped");
  assert.ok(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!));
  stalled.close();
  await Promise.all(clients.map((client) => client.close()));
  await processor.shutdown();
  await server.close();
});
