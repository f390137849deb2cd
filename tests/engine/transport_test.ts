/**
 * The `node:net` transport over real loopback sockets: write callbacks come
 * exactly once, at once when the kernel took the bytes during the write,
 * and reads through lent buffers arrive with a way to hold them.
 */

import assert from "node:assert/strict";
import {
  type AddressInfo,
  connect,
  createServer,
  type Server,
  type Socket,
} from "node:net";
import { deadlines } from "../../lib/engine/deadlines.ts";
import { NetSocketTransport } from "../../lib/engine/transport.ts";
import { ReadBuffers } from "../../lib/engine/read_buffers.ts";
import { waitFor } from "../helpers/client.ts";

async function listen(
  onConnection: (socket: Socket) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("connect", () => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A client socket, connected to a server whose side does not read yet. */
async function toPausedPeer(): Promise<
  { server: Server; socket: Socket; peer: () => Socket | undefined }
> {
  let peer: Socket | undefined;
  const { port, server } = await listen((socket) => {
    peer = socket;
    socket.pause();
  });
  const socket = connect({ port, host: "127.0.0.1" });
  await connected(socket);
  return { server, socket, peer: () => peer };
}

Deno.test("transport: onWritten comes once per write, at once when the kernel took the bytes", async () => {
  const { server, socket, peer } = await toPausedPeer();
  const transport = new NetSocketTransport(socket);
  transport.start({ data() {}, end() {} });
  const calls: number[] = [];
  let first = 0;
  transport.write(new Uint8Array(64 * 1024), () => first++);
  // An empty socket on loopback takes 64 KiB at once: no waiting for
  // Node's callback, which a busy sender may not let run for a long time.
  assert.equal(first, 1);
  // The peer does not read: later writes queue, and are reported only
  // once they drained.
  for (let i = 0; i < 200; i++) {
    calls.push(0);
    transport.write(new Uint8Array(64 * 1024), () => calls[i]!++);
  }
  assert.ok(transport.bufferedAmount > 0, "the writes should have queued");
  await waitFor(() => peer() !== undefined);
  peer()!.resume();
  peer()!.on("data", () => {});
  await transport.drained();
  await waitFor(() => calls.every((n) => n > 0), 5000, "every callback");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(first, 1);
  assert.deepEqual(calls, calls.map(() => 1));
  transport.destroy();
  peer()!.destroy();
  await closeServer(server);
});

Deno.test("transport: end() drops a peer that does not read within 2 s, and a socket that closes leaves no deadline", async () => {
  const { server, socket, peer } = await toPausedPeer();
  const before = deadlines.size;
  const transport = new NetSocketTransport(socket);
  let ended = false;
  transport.start({ data() {}, end: () => ended = true });
  // More than loopback buffers take: the end never gets through.
  for (let i = 0; i < 200; i++) transport.write(new Uint8Array(64 * 1024));
  const endedAt = Date.now();
  transport.end();
  assert.equal(deadlines.size, before + 1);
  await waitFor(() => socket.destroyed && ended, 5000, "the socket dropped");
  const waited = Date.now() - endedAt;
  assert.ok(waited >= 1900 && waited < 4000, `dropped after ${waited} ms`);
  assert.equal(deadlines.size, before);
  peer()?.destroy();

  // A peer that reads and closes: the deadline goes with the socket.
  let second: Socket | undefined;
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    second = socket;
    socket.on("data", () => {});
    socket.on("end", () => socket.end());
  });
  const { port } = server.address() as AddressInfo;
  const quick = connect({ port, host: "127.0.0.1" });
  await connected(quick);
  const closing = new NetSocketTransport(quick);
  let closed = false;
  closing.start({ data() {}, end: () => closed = true });
  closing.write(new Uint8Array(16));
  closing.end();
  await waitFor(() => closed && quick.destroyed, 2000, "the socket closed");
  assert.equal(deadlines.size, before);
  second?.destroy();
  await closeServer(server);
});

Deno.test("transport: a socket with lent reads hands chunks over with hold", async () => {
  const { port, server } = await listen((socket) => {
    socket.end(new Uint8Array([1, 2, 3]));
  });
  const buffers = new ReadBuffers();
  const socket = connect({ port, host: "127.0.0.1", onread: buffers.onread });
  buffers.attach(socket);
  await connected(socket);
  const transport = new NetSocketTransport(socket, new Uint8Array([0]));
  const got: { bytes: number[]; lent: boolean }[] = [];
  const { promise: ended, resolve } = Promise.withResolvers<void>();
  transport.start({
    data(chunk, hold) {
      got.push({ bytes: [...chunk], lent: hold !== undefined });
    },
    end: () => resolve(),
  });
  await ended;
  // The head was read before: it is the transport's own, not lent.
  assert.deepEqual(got, [
    { bytes: [0], lent: false },
    { bytes: [1, 2, 3], lent: true },
  ]);
  transport.destroy();
  await closeServer(server);
});

Deno.test("transport: writes of one corked turn leave in one write at its end, in order, large ones as they are", async () => {
  const received: Uint8Array[] = [];
  let peer: Socket | undefined;
  const { port, server } = await listen((socket) => {
    peer = socket;
    socket.on("data", (chunk: Uint8Array) => received.push(chunk));
  });
  const socket = connect({ port, host: "127.0.0.1" });
  await connected(socket);
  const writes: Uint8Array[] = [];
  const original = socket.write.bind(socket);
  socket.write = ((chunk: Uint8Array, ...rest: never[]) => {
    writes.push(chunk.slice());
    return original(chunk, ...rest);
  }) as typeof socket.write;
  const transport = new NetSocketTransport(socket);
  transport.start({ data() {}, end() {} });
  const freed: number[] = [];
  transport.corkForTurn();
  transport.write(new Uint8Array([1, 2]), () => freed.push(1));
  transport.write(new Uint8Array([3]));
  transport.write(new Uint8Array([4, 5, 6]), () => freed.push(3));
  // Held, not written yet, and counted as buffered.
  assert.equal(writes.length, 0);
  assert.equal(transport.bufferedAmount, 6);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes.map((chunk) => [...chunk]), [[1, 2, 3, 4, 5, 6]]);
  // Copied into the joined write: both chunks were free at once.
  assert.deepEqual(freed, [1, 3]);
  // A large chunk sends what is held first, then goes as it is: both in
  // one writev, and its callback comes at once when the kernel took it.
  const writevs: number[] = [];
  const internals = socket as unknown as {
    _writev(chunks: unknown[], callback: () => void): void;
  };
  const writev = internals._writev.bind(socket);
  internals._writev = (chunks, callback) => {
    writevs.push(chunks.length);
    writev(chunks, callback);
  };
  transport.corkForTurn();
  transport.write(new Uint8Array([7]));
  const large = new Uint8Array(20_000).fill(8);
  let largeWritten = 0;
  transport.write(large, () => largeWritten++);
  assert.equal(writes.length, 3);
  assert.deepEqual([...writes[1]!], [7]);
  assert.equal(writes[2]!.byteLength, 20_000);
  assert.deepEqual(writevs, [2]);
  assert.equal(largeWritten, 1);
  await waitFor(
    () => received.reduce((sum, chunk) => sum + chunk.byteLength, 0) === 20_007,
    5000,
    "every byte at the peer",
  );
  const all = new Uint8Array(20_007);
  let offset = 0;
  for (const chunk of received) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  assert.deepEqual([...all.subarray(0, 7)], [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(all.subarray(7).every((byte) => byte === 8));
  transport.destroy();
  // Written after the end, a chunk is never read: its callback comes now.
  let late = 0;
  transport.write(new Uint8Array(1), () => late++);
  assert.equal(late, 1);
  peer!.destroy();
  await closeServer(server);
});

Deno.test("transport: drained() and end() send what a corked turn holds first", async () => {
  const received: number[] = [];
  const { promise: ended, resolve: peerEnded } = Promise.withResolvers<void>();
  const { port, server } = await listen((socket) => {
    socket.on("data", (chunk: Uint8Array) => received.push(...chunk));
    socket.on("end", () => {
      peerEnded();
      socket.end();
    });
  });
  const socket = connect({ port, host: "127.0.0.1" });
  await connected(socket);
  const transport = new NetSocketTransport(socket);
  transport.start({ data() {}, end() {} });
  transport.corkForTurn();
  transport.write(new Uint8Array([1]));
  await transport.drained();
  assert.equal(transport.bufferedAmount, 0);
  transport.corkForTurn();
  transport.write(new Uint8Array([2]));
  transport.end();
  await ended;
  assert.deepEqual(received, [1, 2]);
  await closeServer(server);
});

Deno.test("transport: a joined write that waits in its socket's queue keeps its bytes while other sockets' joins go out", async () => {
  const received = new Map<number, number[]>();
  const peers: Socket[] = [];
  const { port, server } = await listen((socket) => {
    peers.push(socket);
    socket.pause();
  });
  const slow = connect({ port, host: "127.0.0.1" });
  await connected(slow);
  const fast = connect({ port, host: "127.0.0.1" });
  await connected(fast);
  await waitFor(() => peers.length === 2);
  const [slowPeer, fastPeer] = peers as [Socket, Socket];
  const slowTransport = new NetSocketTransport(slow);
  const fastTransport = new NetSocketTransport(fast);
  slowTransport.start({ data() {}, end() {} });
  fastTransport.start({ data() {}, end() {} });
  // The slow peer does not read: fill its socket until writes queue.
  let filler = 0;
  while (slowTransport.bufferedAmount === 0 && filler < 256 * 1024 * 1024) {
    slowTransport.write(new Uint8Array(64 * 1024));
    filler += 64 * 1024;
  }
  assert.ok(slowTransport.bufferedAmount > 0, "the slow socket should queue");
  // Several rounds: the slow socket's joined writes queue behind the
  // filler; the fast socket's go out at once and free the shared buffer.
  for (let round = 0; round < 5; round++) {
    slowTransport.corkForTurn();
    fastTransport.corkForTurn();
    slowTransport.write(new Uint8Array([1, round]));
    slowTransport.write(new Uint8Array([1, round]));
    fastTransport.write(new Uint8Array([2, round]));
    fastTransport.write(new Uint8Array([2, round]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const collect = (peer: Socket, key: number, skip: number) => {
    let skipped = 0;
    const bytes: number[] = [];
    received.set(key, bytes);
    peer.on("data", (chunk: Uint8Array) => {
      const from = Math.min(chunk.byteLength, Math.max(0, skip - skipped));
      skipped += from;
      bytes.push(...chunk.subarray(from));
    });
    peer.resume();
  };
  collect(fastPeer, 2, 0);
  collect(slowPeer, 1, filler);
  const expected = (tag: number) =>
    [0, 1, 2, 3, 4].flatMap((round) => [tag, round, tag, round]);
  await waitFor(
    () => received.get(1)?.length === 20 && received.get(2)?.length === 20,
    10_000,
    "every joined write at its peer",
  );
  assert.deepEqual(received.get(2), expected(2));
  assert.deepEqual(received.get(1), expected(1));
  slowTransport.destroy();
  fastTransport.destroy();
  for (const peer of peers) peer.destroy();
  await closeServer(server);
});
