/**
 * Every socket as a pair of web streams (`readable`, `writable`), on each
 * backend's server sockets and on client sockets, over real loopback
 * connections.
 */

import assert from "node:assert/strict";
import {
  connect,
  type MessageData,
  type Socket,
  WebSocketError,
} from "../../mod.ts";
import { Inbox, TestClient, waitFor } from "../helpers/client.ts";
import { engineHarness, HARNESSES } from "../helpers/harness.ts";

const MIB = 1024 * 1024;
const PART = 64 * 1024;

/** A sink that counts bytes and checks each message's marker byte in order. */
function countingSink(): {
  sink: WritableStream<MessageData>;
  bytes: () => number;
  messages: () => number;
} {
  let bytes = 0;
  let messages = 0;
  const sink = new WritableStream<MessageData>({
    write(chunk) {
      assert.ok(chunk instanceof Uint8Array, "binary messages stay bytes");
      assert.equal(chunk.byteLength, PART);
      assert.equal(chunk[0], messages % 251, "messages arrive in order");
      assert.equal(chunk[PART - 1], messages % 251);
      bytes += chunk.byteLength;
      messages++;
    },
  });
  return { sink, bytes: () => bytes, messages: () => messages };
}

function part(index: number): Uint8Array {
  return new Uint8Array(PART).fill(index % 251);
}

for (const harness of HARNESSES) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`${harness.name}: ${name}`, fn);

  test("a 20 MiB upload pipes through readable, message by message", async () => {
    const counter = countingSink();
    const piped = Promise.withResolvers<void>();
    const server = await harness.serve({}, (socket) => {
      socket.readable.pipeTo(counter.sink).then(piped.resolve, piped.reject);
    });
    const client = await TestClient.open(server.url);
    const count = 20 * MIB / PART;
    for (let i = 0; i < count; i++) client.ws.send(part(i));
    client.ws.close(1000, "done");
    await piped.promise;
    assert.equal(counter.bytes(), 20 * MIB);
    assert.equal(counter.messages(), count);
    await client.close();
    await server.close();
  });

  test("readable gives text as strings and ends at the peer's close", async () => {
    const sockets = new Inbox<Socket>();
    const server = await harness.serve({}, (socket) => sockets.push(socket));
    const client = await TestClient.open(server.url);
    const socket = await sockets.next();
    client.ws.send("one");
    client.ws.send(new Uint8Array([2]));
    client.ws.close(4000, "bye");
    const seen: MessageData[] = [];
    for await (const message of socket.readable) seen.push(message);
    assert.deepEqual(seen, ["one", new Uint8Array([2])]);
    const closed = await socket.closed;
    assert.equal(closed.code, 4000);
    await client.close();
    await server.close();
  });

  test("readable errors when the socket ends without a close frame", async () => {
    const sockets = new Inbox<Socket>();
    const server = await harness.serve({}, (socket) => sockets.push(socket));
    const client = await TestClient.open(server.url);
    const socket = await sockets.next();
    const reader = socket.readable.getReader();
    const read = reader.read();
    socket.abort();
    await assert.rejects(
      read,
      (error: unknown) =>
        error instanceof WebSocketError && error.status === "aborted",
    );
    await client.close();
    await server.close();
  });

  test("messages written to writable go out in order; closing it closes with 1000", async () => {
    const server = await harness.serve({}, async (socket) => {
      await ReadableStream.from(
        (function* () {
          for (let i = 0; i < 100; i++) yield i % 2 === 0 ? `m${i}` : part(i);
        })(),
      ).pipeTo(socket.writable);
    });
    const client = await TestClient.open(server.url);
    for (let i = 0; i < 100; i++) {
      const message = await client.next();
      if (i % 2 === 0) assert.equal(message, `m${i}`);
      else {
        const bytes = new Uint8Array(message as ArrayBuffer);
        assert.equal(bytes.byteLength, PART);
        assert.equal(bytes[0], i % 251);
      }
    }
    const { code } = await client.closed;
    assert.equal(code, 1000);
    await server.close();
  });

  test("aborting writable closes with the reason's code, or 1011", async () => {
    const codes: number[] = [];
    for (
      const reason of [
        new WebSocketError("too big", { status: "messageTooBig", code: 1009 }),
        new Error("a bug"),
      ]
    ) {
      const server = await harness.serve({}, (socket) => {
        socket.writable.abort(reason);
      });
      const client = await TestClient.open(server.url);
      codes.push((await client.closed).code);
      await server.close();
    }
    assert.deepEqual(codes, [1009, 1011]);
  });

  test("an echo pipes readable into writable", async () => {
    const server = await harness.serve({}, async (socket) => {
      await socket.readable.pipeTo(socket.writable);
    });
    const client = await TestClient.open(server.url);
    for (let i = 0; i < 50; i++) {
      client.ws.send(`echo ${i}`);
      assert.equal(await client.next(), `echo ${i}`);
    }
    client.ws.close(1000);
    assert.equal((await client.closed).code, 1000);
    await server.close();
  });
}

Deno.test("client sockets: download through readable, upload through writable", async () => {
  const counter = countingSink();
  const piped = Promise.withResolvers<void>();
  const server = await engineHarness.serve({}, async (socket) => {
    await socket.send("ready");
    await socket.readable.pipeTo(counter.sink).then(
      piped.resolve,
      piped.reject,
    );
  });
  const socket = await connect(server.url);
  const reader = socket.readable.getReader();
  assert.deepEqual(await reader.read(), { value: "ready", done: false });
  const count = 4 * MIB / PART;
  await ReadableStream.from(
    (function* () {
      for (let i = 0; i < count; i++) yield part(i);
    })(),
  ).pipeTo(socket.writable);
  // Closing the writable sent the close frame: the server's readable ends,
  // the server answers, and the client's readable ends too.
  await piped.promise;
  assert.equal(counter.bytes(), 4 * MIB);
  assert.deepEqual(await reader.read(), { value: undefined, done: true });
  const closed = await socket.closed;
  assert.equal(closed.code, 1000);
  assert.equal(closed.initiator, "local");
  await server.close();
});

// Deno's own WebSocket (the native backend) reads whatever arrives and cannot
// be paused; the engine stops reading while messages wait to be taken.
Deno.test("engine: a readable nobody reads holds the sender back", async () => {
  const sockets = new Inbox<Socket>();
  const server = await engineHarness.serve({}, (socket) => {
    sockets.push(socket);
  });
  const client = await connect(server.url);
  const socket = await sockets.next();
  const readable = socket.readable;
  let sent = 0;
  let stop = false;
  const sending = (async () => {
    for (let i = 0; !stop; i++) {
      await client.send(part(i));
      sent += PART;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const stalledAt = sent;
  // Loopback moves hundreds of MiB a second; held back, the sender stops
  // after the buffers on the way (receive high-water mark, the kernel's
  // socket buffers, the sender's own high-water mark) are full.
  assert.ok(stalledAt < 32 * MIB, `sent ${stalledAt} bytes while unread`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(sent, stalledAt, "the sender stays stalled");
  stop = true;
  const counter = countingSink();
  const piped = readable.pipeTo(counter.sink);
  await sending;
  await client.close();
  await piped;
  assert.equal(counter.bytes(), sent);
  await waitFor(() => socket.state === "closed", 5000, "closed");
  await server.close();
});
