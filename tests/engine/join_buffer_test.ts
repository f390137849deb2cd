/**
 * The shared join buffer: reused only while each joined write leaves at
 * once, and broadcasts over TLS, where every socket's frames of a turn are
 * joined into it, arrive whole and in order at every member.
 */

import assert from "node:assert/strict";
import { joinChunks, returnJoined } from "../../lib/engine/join_buffer.ts";
import {
  connect,
  serveEngine,
  type Socket,
  SocketProcessor,
} from "../../mod.ts";
import { testCertificates } from "../helpers/tls.ts";
import { waitFor } from "../helpers/client.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("join buffer: joins in order, grows, and is reused only once given back unqueued", () => {
  const first = joinChunks([bytes(1, 2), bytes(3), bytes(4, 5, 6)], 6);
  assert.deepEqual([...first], [1, 2, 3, 4, 5, 6]);
  // Not given back yet: the next join gets another buffer.
  const second = joinChunks([bytes(7)], 1);
  assert.notEqual(second.buffer, first.buffer);
  returnJoined(second, true);
  returnJoined(first, false);
  // Given back unqueued: reused, the old bytes overwritten only as far as
  // the new join reaches.
  const third = joinChunks([bytes(9, 9)], 2);
  assert.equal(third.buffer, first.buffer);
  assert.deepEqual([...third], [9, 9]);
  returnJoined(third, false);
  // Larger than the buffer: a new, larger one.
  const large = joinChunks([new Uint8Array(200_000).fill(5)], 200_000);
  assert.notEqual(large.buffer, first.buffer);
  assert.ok(large.buffer.byteLength >= 200_000);
  assert.ok(large.every((byte) => byte === 5));
  returnJoined(large, false);
  // The larger one is kept for the next join.
  assert.equal(joinChunks([bytes(1)], 1).buffer, large.buffer);
});

Deno.test("join buffer: broadcasts over TLS arrive whole and in order at every member", async () => {
  const { ca, cert, key } = await testCertificates();
  const processor = new SocketProcessor({ onError: () => {} });
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws", tls: { cert, key } },
    (socket) => {
      processor.add(socket);
      processor.join(socket, "room");
    },
  );
  const { port } = await server.listening;
  const members: Socket[] = [];
  for (let i = 0; i < 20; i++) {
    members.push(
      await connect(`wss://localhost:${port}/ws`, { caCerts: [ca] }),
    );
  }
  await waitFor(() => processor.count("room") === 20);
  const received = members.map(() => [] as string[]);
  members.forEach((member, i) =>
    member.addEventListener("message", ({ data }) => {
      received[i]!.push(data as string);
    })
  );
  // Several broadcasts in each turn: each member's frames of a turn are
  // joined, member after member, into the shared buffer.
  const expected: string[] = [];
  for (let turn = 0; turn < 20; turn++) {
    for (let k = 0; k < 5; k++) {
      const line = `turn ${turn} message ${k} `.padEnd(40 + k * 17, "x");
      expected.push(line);
      processor.broadcast(line);
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await waitFor(
    () => received.every((lines) => lines.length === expected.length),
    10_000,
    "every broadcast at every member",
  );
  for (const lines of received) assert.deepEqual(lines, expected);
  for (const member of members) member.close();
  await processor.shutdown();
  await server.shutdown();
});
