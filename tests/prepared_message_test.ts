/** Prepared messages: encoded once, the same bytes to every socket. */

import assert from "node:assert/strict";
import { constants, inflateRawSync } from "node:zlib";
import WebSocket from "ws";

/** What these tests use of a `ws` client. */
interface WsClient {
  on(event: "message", listener: (data: unknown) => void): void;
  on(event: "close", listener: () => void): void;
  close(): void;
}
import {
  type MessageType,
  PreparedMessage,
  type SendData,
  type Socket,
  SocketProcessor,
  type WebSocketServerOptions,
} from "../mod.ts";
import { PerMessageDeflate } from "../lib/engine/deflate.ts";
import { FrameWriter } from "../lib/engine/frame_writer.ts";
import { TakingTransport } from "./helpers/taking_transport.ts";
import { Inbox, TestClient, waitFor } from "./helpers/client.ts";
import { engineHarness, type Harness, HARNESSES } from "./helpers/harness.ts";

/** Keeps every chunk written, as it was given. */
class RecordingTransport extends TakingTransport {
  readonly chunks: Uint8Array[] = [];
  corks = 0;
  protected kept(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  corkForTurn(): void {
    this.corks++;
  }
}

const PARAMS = {
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  serverNoContextTakeover: true,
  clientNoContextTakeover: false,
} as const;

Deno.test("prepared message: one frame object written by every uncompressed server writer, corked", () => {
  const message = new PreparedMessage("héllo, room");
  const transports = [0, 1, 2].map(() => new RecordingTransport());
  for (const transport of transports) {
    const writer = new FrameWriter(transport, false);
    writer.data(message.bytes, "text", true, true);
  }
  const frame = message.frame();
  assert.deepEqual([...frame.subarray(0, 2)], [0x81, 12]);
  assert.equal(new TextDecoder().decode(frame.subarray(2)), "héllo, room");
  for (const transport of transports) {
    assert.equal(transport.chunks.length, 1);
    assert.equal(transport.chunks[0], frame, "the same bytes, not a copy");
    assert.equal(transport.corks, 1);
  }
});

Deno.test("prepared message: compressed once per set of parameters when no context takeover, per socket otherwise", async () => {
  const message = new PreparedMessage("a".repeat(4096));
  const standalone = [0, 1].map(() => new RecordingTransport());
  const codecs: PerMessageDeflate[] = [];
  for (const transport of standalone) {
    const deflate = new PerMessageDeflate(PARAMS, "server");
    codecs.push(deflate);
    await new FrameWriter(transport, false, deflate).data(
      message.bytes,
      "text",
      true,
      true,
    );
  }
  const shared = standalone[0]!.chunks[0]!;
  assert.equal(standalone[1]!.chunks[0], shared, "compressed once, shared");
  assert.equal(shared[0], 0xc1, "FIN, RSV1, text");
  const payload = shared.subarray(2 + (shared[1]! === 126 ? 2 : 0));
  const inflated = inflateRawSync(
    new Uint8Array([...payload, 0x00, 0x00, 0xff, 0xff]),
    { finishFlush: constants.Z_SYNC_FLUSH },
  );
  assert.equal(new TextDecoder().decode(inflated), "a".repeat(4096));

  // With context takeover each socket compresses in its own context.
  const own = new RecordingTransport();
  const deflate = new PerMessageDeflate(
    { ...PARAMS, serverNoContextTakeover: false },
    "server",
  );
  codecs.push(deflate);
  await new FrameWriter(own, false, deflate).data(
    message.bytes,
    "text",
    true,
    true,
  );
  assert.notEqual(own.chunks[0], shared);
  assert.deepEqual(own.chunks[0], shared, "the same bytes all the same");
  // Not compressed (compress: false) shares the plain frame.
  const plain = new RecordingTransport();
  await new FrameWriter(plain, false, deflate).data(
    message.bytes,
    "text",
    true,
    false,
  );
  assert.equal(plain.chunks[0], message.frame());
  for (const codec of codecs) codec.close();
});

Deno.test("prepared message: a client writer masks as usual; bytes sent as another type are framed as sent", () => {
  const message = new PreparedMessage(new Uint8Array([1, 2, 3]));
  const client = new RecordingTransport();
  new FrameWriter(client, true).data(message.bytes, "binary", true, true);
  assert.notEqual(client.chunks[0], message.frame());
  assert.equal(client.chunks[0]![1]! & 0x80, 0x80, "masked");
  const server = new RecordingTransport();
  const text = new PreparedMessage(new TextEncoder().encode("abc"), {
    type: "text",
  });
  new FrameWriter(server, false).data(text.bytes, "binary", true, true);
  assert.equal(server.chunks[0]![0], 0x82, "sent as binary, framed so");
});

Deno.test("prepared message: bad input fails at once", () => {
  assert.throws(
    () => new PreparedMessage(new Uint8Array([0xff]), { type: "text" }),
    TypeError,
  );
  assert.throws(
    () => new PreparedMessage("x", { type: "json" as "text" }),
    /Unknown message type/,
  );
  const bytes = new Uint8Array([1, 2]);
  const message = new PreparedMessage(bytes);
  bytes[0] = 9;
  assert.deepEqual([...message.bytes], [1, 2], "copied when prepared");
  assert.equal(message.data instanceof Uint8Array, true);
  assert.equal(new PreparedMessage("€").size, 3);
  assert.equal(new PreparedMessage("€").data, "€");
});

Deno.test("prepared message: the payload is a view of the frame, one buffer for both, whatever the header's size", () => {
  const encoder = new TextEncoder();
  const cases: [SendData, MessageType | undefined, Uint8Array][] = [
    [
      "h\u00e9llo \ud800 lone",
      undefined,
      encoder.encode("h\u00e9llo \ud800 lone"),
    ],
    ["\u20ac".repeat(100), undefined, encoder.encode("\u20ac".repeat(100))],
    ["as binary", "binary", encoder.encode("as binary")],
    [new Uint8Array(70_000).fill(7), undefined, new Uint8Array(70_000).fill(7)],
    [new Uint16Array([0x6968]), "text", new Uint8Array([0x68, 0x69])],
  ];
  for (const [data, type, expected] of cases) {
    const message = new PreparedMessage(
      data,
      type === undefined ? {} : { type },
    );
    const frame = message.frame();
    const bytes = message.bytes;
    assert.equal(bytes.buffer, frame.buffer);
    assert.equal(bytes.byteOffset + bytes.byteLength, frame.byteLength);
    assert.equal(message.size, expected.byteLength);
    assert.deepEqual(bytes, expected);
    const header = frame.subarray(0, bytes.byteOffset);
    const parsed = expected.byteLength < 126
      ? header[1]
      : expected.byteLength < 0x10000
      ? (header[2]! << 8) | header[3]!
      : new DataView(header.buffer, header.byteOffset).getUint32(6);
    assert.equal(parsed, expected.byteLength);
    assert.equal(header[0], message.type === "text" ? 0x81 : 0x82);
  }
});

async function roomOf(harness: Harness, options: WebSocketServerOptions) {
  const processor = new SocketProcessor({ onError: () => {} });
  const sockets = new Inbox<Socket>();
  const server = await harness.serve(options, (socket) => {
    sockets.push(socket);
    return processor.add(socket);
  });
  return { processor, sockets, server };
}

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: an application sends one prepared message to sockets it chose; broadcasts arrive whole`, async () => {
    const { processor, sockets, server } = await roomOf(harness, {});
    const clients = await Promise.all(
      [0, 1, 2].map(() => TestClient.open(server.url)),
    );
    const serverSockets: Socket[] = [];
    for (let i = 0; i < 3; i++) serverSockets.push(await sockets.next());
    await waitFor(() => serverSockets.every((s) => s.state === "open"));
    const chosen = new PreparedMessage("only two of you ✓");
    await Promise.all(serverSockets.slice(0, 2).map((s) => chosen.send(s)));
    const bytes = new PreparedMessage(new Uint8Array([0, 255, 7]));
    assert.deepEqual(await processor.broadcast(bytes), { sent: 3, failed: 0 });
    assert.deepEqual(await processor.broadcast("plain text"), {
      sent: 3,
      failed: 0,
    });
    for (const [i, client] of clients.entries()) {
      if (i < 2) assert.equal(await client.next(), "only two of you ✓");
      assert.deepEqual(
        new Uint8Array(await client.next() as ArrayBuffer),
        new Uint8Array([0, 255, 7]),
      );
      assert.equal(await client.next(), "plain text");
    }
    await Promise.all(clients.map((client) => client.close()));
    await processor.shutdown();
    await server.close();
  });
}

for (const harness of HARNESSES) {
  Deno.test(`${harness.name}: a broadcast to a socket in the middle of a message in fragments waits for its end`, async () => {
    const { processor, sockets, server } = await roomOf(harness, {});
    const client = await TestClient.open(server.url);
    const socket = await sockets.next();
    await waitFor(() => socket.state === "open");
    await socket.send("frag", { endOfMessage: false });
    assert.deepEqual(await processor.broadcast("broadcast 1"), {
      sent: 1,
      failed: 0,
    });
    // Another type, which could not be a continuation either.
    await processor.broadcast(new Uint8Array([1, 2]));
    await socket.send("ment", { endOfMessage: false });
    await socket.send("ed");
    await socket.send("after");
    assert.equal(await client.next(), "fragmented");
    assert.equal(await client.next(), "broadcast 1");
    assert.deepEqual(
      new Uint8Array(await client.next() as ArrayBuffer),
      new Uint8Array([1, 2]),
    );
    assert.equal(await client.next(), "after");
    await client.close();
    await processor.shutdown();
    await server.close();
  });
}

for (const noContextTakeover of [true, false]) {
  Deno.test(
    `engine with deflate (${
      noContextTakeover ? "no " : ""
    }context takeover): ws clients inflate every broadcast, mixed with their own sends`,
    async () => {
      const { processor, sockets, server } = await roomOf(engineHarness, {
        dangerouslyEnableCompression: {
          disableServerContextTakeover: noContextTakeover,
        },
      } as WebSocketServerOptions);
      const clients: WsClient[] = await Promise.all(
        [0, 1].map(() =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(server.url, { perMessageDeflate: true });
            ws.on("open", () => resolve(ws));
            ws.on("error", reject);
          })
        ),
      );
      const received: string[][] = clients.map(() => []);
      clients.forEach((ws, i) =>
        ws.on("message", (data: unknown) => received[i]!.push(String(data)))
      );
      const serverSockets = [await sockets.next(), await sockets.next()];
      await waitFor(() => serverSockets.every((s) => s.state === "open"));
      assert.match(serverSockets[0]!.extensions, /permessage-deflate/);
      const expected: string[] = [];
      for (let i = 0; i < 50; i++) {
        const text = `broadcast ${i} `.repeat(20);
        await processor.broadcast(text);
        expected.push(text);
        // A socket's own message between broadcasts, in its own context.
        const own = `own ${i} `.repeat(20);
        await Promise.all(serverSockets.map((s) => s.send(own)));
        expected.push(own);
      }
      await waitFor(() => received.every((list) => list.length === 100));
      for (const list of received) assert.deepEqual(list, expected);
      await Promise.all(clients.map((ws) =>
        new Promise((resolve) => {
          ws.on("close", () => resolve(undefined));
          ws.close();
        })
      ));
      await processor.shutdown();
      await server.close();
    },
  );
}
