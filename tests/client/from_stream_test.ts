import assert from "node:assert/strict";
import { fromStream } from "../../mod.ts";

function pipePair(options: Parameters<typeof fromStream>[2] = {}) {
  const aToB = new TransformStream<Uint8Array, Uint8Array>();
  const bToA = new TransformStream<Uint8Array, Uint8Array>();
  return {
    client: fromStream(bToA.readable, aToB.writable, {
      ...options,
      role: "client",
    }),
    server: fromStream(aToB.readable, bToA.writable, {
      ...options,
      role: "server",
    }),
  };
}

Deno.test("fromStream: two roles over a pipe exchange messages and close cleanly", async () => {
  const { client, server } = pipePair();
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 13);
  await client.send("hello");
  await client.send("frag", { endOfMessage: false });
  await client.send("ment");
  await client.send(big);
  const received: (string | Uint8Array)[] = [];
  for await (const message of server) {
    received.push(message);
    if (received.length === 3) break;
  }
  assert.deepEqual(received, ["hello", "fragment", big]);
  const [closedClient, closedServer] = await Promise.all([
    client.close(4000, "done"),
    server.closed,
  ]);
  assert.equal(closedClient.ending, "close");
  assert.equal(closedClient.initiator, "local");
  assert.equal(closedServer.code, 4000);
  assert.equal(closedServer.initiator, "remote");
});

Deno.test("fromStream: keep-alive is off unless asked, and on when asked", async () => {
  const quiet = pipePair();
  let pongs = 0;
  quiet.server.addEventListener("pong", () => pongs++);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(pongs, 0);
  await quiet.client.close();
  await quiet.server.closed;

  const aToB = new TransformStream<Uint8Array, Uint8Array>();
  const bToA = new TransformStream<Uint8Array, Uint8Array>();
  const client = fromStream(bToA.readable, aToB.writable, {
    keepAliveInterval: 50,
  });
  const server = fromStream(aToB.readable, bToA.writable, { role: "server" });
  let heard = 0;
  server.addEventListener("pong", () => heard++);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(heard >= 2, `unsolicited pongs heard: ${heard}`);
  await client.close();
  await server.closed;
});

Deno.test("fromStream: a bad role fails at once", () => {
  const stream = new TransformStream<Uint8Array, Uint8Array>();
  assert.throws(
    () =>
      fromStream(stream.readable, stream.writable, {
        role: "peer" as "client",
      }),
    /role must be "client" or "server"/,
  );
});
