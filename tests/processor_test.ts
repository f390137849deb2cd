/** The background socket processor (SPEC S5) over real loopback sockets. */

import assert from "node:assert/strict";
import {
  type Socket,
  type SocketCompletion,
  SocketProcessor,
  type SocketProcessorOptions,
  WebSocketError,
  WebSocketStatus,
} from "../mod.ts";
import { Inbox, TestClient, waitFor } from "./helpers/client.ts";
import { nativeHarness, type TestServer } from "./helpers/harness.ts";
import { rawWebSocket } from "./helpers/raw.ts";
import { FrameParser } from "../lib/protocol/parser.ts";

interface Setup {
  processor: SocketProcessor;
  server: TestServer;
  completions: Inbox<SocketCompletion>;
  sockets: Inbox<Socket>;
}

async function setup(options: SocketProcessorOptions = {}): Promise<Setup> {
  const processor = new SocketProcessor({ onError: () => {}, ...options });
  const completions = new Inbox<SocketCompletion>();
  const sockets = new Inbox<Socket>();
  const server = await nativeHarness.serve({}, async (socket) => {
    sockets.push(socket);
    completions.push(await processor.add(socket));
  });
  return { processor, server, completions, sockets };
}

const echo = async (socket: Socket) => {
  for await (const message of socket) await socket.send(message);
};

Deno.test("a clean close settles the completion once, with how it ended", async () => {
  const { processor, server, completions, sockets } = await setup({
    onSocket: echo,
  });
  const client = await TestClient.open(server.url);
  const socket = await sockets.next();
  const first = processor.add(socket);
  assert.equal(
    processor.add(socket),
    first,
    "adding twice gives the same completion",
  );
  client.ws.send("ping");
  assert.equal(await client.next(), "ping");
  assert.equal(processor.size, 1);
  assert.deepEqual([...processor], [socket]);
  await client.close(1000, "bye");
  const done = await completions.next();
  assert.equal(done.socket, socket);
  assert.equal(done.closed.ending, "close");
  assert.equal(done.closed.reason, "bye");
  assert.equal(done.error, undefined);
  assert.equal(processor.size, 0);
  assert.equal(processor.has(socket), false);
  await assert.rejects(
    completions.next(100),
    /nothing arrived/,
    "settled exactly once",
  );
  await server.close();
});

Deno.test("work that throws closes with 1011 and reports the error", async () => {
  const errors: unknown[] = [];
  const { server, completions } = await setup({
    onSocket: async (socket) => {
      await socket.receive();
      throw new Error("boom");
    },
    onError: (error) => errors.push(error),
  });
  const client = await TestClient.open(server.url);
  client.ws.send("trigger");
  assert.equal((await client.closed).code, 1011);
  const done = await completions.next();
  assert.equal((done.error as Error).message, "boom");
  assert.equal(done.closed.code, 1011);
  assert.equal(errors.length, 1);
  await server.close();
});

Deno.test("an aborted socket settles its completion", async () => {
  const { server, completions } = await setup({
    onSocket: (socket) => socket.abort(),
  });
  const client = await TestClient.open(server.url);
  const done = await completions.next();
  assert.equal(done.closed.ending, "abort");
  await client.closed;
  await server.close();
});

Deno.test("a disconnect settles the completion as a disconnect", async () => {
  const { server, completions } = await setup({ onSocket: echo });
  const conn = await rawWebSocket(server.port);
  conn.close();
  const done = await completions.next();
  assert.equal(done.closed.ending, "disconnect");
  assert.equal(done.error, undefined, "iteration ends quietly on a disconnect");
  await server.close();
});

Deno.test("work that outlives its socket settles after the grace period", async () => {
  const never = Promise.withResolvers<void>();
  const { server, completions } = await setup({
    workGracePeriod: 100,
    onSocket: () => never.promise,
  });
  const client = await TestClient.open(server.url);
  await client.close();
  const done = await completions.next();
  assert.ok(done.error instanceof WebSocketError);
  assert.equal(done.error.status, WebSocketStatus.Timeout);
  assert.match(done.error.message, /did not return within 100 ms/);
  never.resolve();
  await server.close();
});

Deno.test("shutdown with 100 live sockets loses nothing queued and settles all", async () => {
  const { processor, server, completions } = await setup({
    onSocket: async (socket) => {
      for (let i = 0; i < 5; i++) socket.send(`queued ${i}`);
      await socket.closed;
    },
  });
  const clients = await Promise.all(
    Array.from({ length: 100 }, () => TestClient.open(server.url)),
  );
  await waitFor(() => processor.size === 100, 10_000, "100 live sockets");
  const done = await processor.shutdown();
  assert.equal(done.length, 100);
  assert.equal(processor.size, 0);
  assert.equal(processor.shuttingDown, true);
  for (const completion of done) {
    assert.equal(completion.closed.ending, "close");
    assert.equal(completion.closed.code, 1001);
    assert.equal(completion.closed.initiator, "local");
  }
  for (const client of clients) {
    const event = await client.closed;
    assert.equal(event.code, 1001);
    assert.equal(event.reason, "Server shutting down");
    for (let i = 0; i < 5; i++) {
      assert.equal(await client.next(100), `queued ${i}`);
    }
  }
  for (let i = 0; i < 100; i++) await completions.next();
  await server.close();
});

Deno.test("sockets added after shutdown are closed with 1013", async () => {
  const { processor, server, completions } = await setup({ onSocket: echo });
  await processor.shutdown();
  const client = await TestClient.open(server.url).catch(() => null);
  const event = client === null ? null : await client.closed;
  assert.equal(event?.code, 1013);
  assert.equal((await completions.next()).closed.code, 1013);
  await server.close();
});

Deno.test("shutdown aborts what does not close in time", async () => {
  const { processor, server } = await setup({ onSocket: echo });
  const conn = await rawWebSocket(server.port); // never answers the close
  await waitFor(() => processor.size === 1);
  const [done] = await processor.shutdown({ timeout: 200 });
  assert.equal(done!.closed.ending, "abort");
  conn.close();
  await server.close();
});

Deno.test("broadcast and groups reach the right sockets", async () => {
  const { processor, server, sockets } = await setup();
  const [a, b, c] = await Promise.all(
    [0, 1, 2].map(() => TestClient.open(server.url)),
  );
  const serverSockets = [
    await sockets.next(),
    await sockets.next(),
    await sockets.next(),
  ];
  await waitFor(() => serverSockets.every((socket) => socket.state === "open"));
  processor.join(serverSockets[0]!, "red");
  processor.join(serverSockets[1]!, "red");
  processor.join(serverSockets[2]!, "blue");
  assert.deepEqual(processor.groupsOf(serverSockets[0]!), ["red"]);
  assert.equal(processor.members("red").length, 2);
  assert.deepEqual(await processor.sendToGroup("red", "to red"), {
    sent: 2,
    failed: 0,
  });
  assert.deepEqual(
    await processor.broadcast("to all but one", { except: serverSockets[0]! }),
    { sent: 2, failed: 0 },
  );
  processor.leave(serverSockets[1]!, "red");
  await processor.sendToGroup("red", "red again");
  assert.equal(await a!.next(), "to red");
  assert.equal(await a!.next(), "red again");
  assert.equal(await b!.next(), "to red");
  assert.equal(await b!.next(), "to all but one");
  assert.equal(await c!.next(), "to all but one");
  await assert.rejects(b!.next(100));
  await a!.close();
  await waitFor(
    () => processor.members("red").length === 0,
    5000,
    "leave on close",
  );
  assert.throws(
    () => processor.join(serverSockets[0]!, "x"),
    /not live in this processor/,
  );
  await b!.close();
  await c!.close();
  await processor.shutdown();
  await server.close();
});

Deno.test("a slow consumer is closed with 1008 by a broadcast", async () => {
  const processor = new SocketProcessor({ slowConsumer: "close" });
  const sockets = new Inbox<Socket>();
  const server = await nativeHarness.serve(
    { maxBufferedAmount: 1024 * 1024, closeTimeout: 10_000 },
    (socket) => {
      sockets.push(socket);
      processor.add(socket);
    },
  );
  const conn = await rawWebSocket(server.port); // does not read, for now
  const socket = await sockets.next();
  await waitFor(() => socket.state === "open");
  const chunk = new Uint8Array(256 * 1024);
  let failed = 0;
  for (let i = 0; i < 64 && failed === 0; i++) {
    failed += (await Promise.race([
      processor.broadcast(chunk),
      new Promise<{ failed: number }>((resolve) =>
        setTimeout(() => resolve({ failed: 0 }), 20)
      ),
    ])).failed;
  }
  assert.ok(failed > 0, "the broadcast must find the queue full");
  // Now read everything: what was queued, then the processor's close frame.
  const parser = new FrameParser({ role: "client" });
  let close: { code: number; reason: string } | undefined;
  const buffer = new Uint8Array(65536);
  while (close === undefined) {
    const n = await conn.read(buffer);
    if (n === null) break;
    parser.push(buffer.slice(0, n), (event) => {
      if (event.kind === "close") close = event;
    });
  }
  assert.deepEqual(close, {
    kind: "close",
    code: 1008,
    reason: "Slow consumer: send queue full",
  });
  conn.close();
  const closed = await socket.closed;
  assert.equal(closed.initiator, "local");
  await processor.shutdown();
  await server.close();
});

Deno.test("bad processor options fail at once", () => {
  assert.throws(() => new SocketProcessor({ workGracePeriod: -1 }), RangeError);
  assert.throws(
    () => new SocketProcessor({ slowConsumer: "drop" as "skip" }),
    /slowConsumer must be "close" or "skip"/,
  );
  const fromJavaScript: Record<string, unknown> = { slowConsumers: "skip" };
  assert.throws(
    () => new SocketProcessor(fromJavaScript as SocketProcessorOptions),
    /^TypeError: Unknown option "slowConsumers": did you mean "slowConsumer"\?$/,
  );
});
