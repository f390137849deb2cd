/**
 * What a socket of connect() does by default: receiving waits without a
 * time limit (a quiet connection is not an error), while message and stream
 * sockets keep their 30-second receive limit.
 */

import assert from "node:assert/strict";
import { connect, StreamSocket } from "../../mod.ts";
import { engineEcho } from "../helpers/echo.ts";

/** The delays of the timers armed while `during` runs, in ms. */
async function timersArmed(during: () => Promise<void>): Promise<number[]> {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((
    callback: (...args: unknown[]) => void,
    delay?: number,
    ...args: unknown[]
  ) => {
    delays.push(delay ?? 0);
    return original(callback, delay, ...args);
  }) as typeof setTimeout;
  try {
    await during();
  } finally {
    globalThis.setTimeout = original;
  }
  return delays;
}

Deno.test("connect(): receive() and for await wait without a time limit by default", async () => {
  const server = await engineEcho();
  const socket = await connect(server.url, { keepAliveInterval: 0 });
  // The limit is still there when asked for.
  const limited = await connect(server.url, {
    keepAliveInterval: 0,
    receiveTimeout: 60_000,
  });
  try {
    const delays = await timersArmed(async () => {
      const waiting = socket.receive();
      await socket.send("late");
      const piece = await waiting;
      assert.equal(new TextDecoder().decode(piece.data), "late");
      const iterator = socket[Symbol.asyncIterator]();
      const next = iterator.next();
      await socket.send("later");
      assert.equal((await next).value, "later");
    });
    assert.deepEqual(
      delays.filter((delay) => delay >= 1000),
      [],
      "no receive deadline is armed",
    );
    const limitedDelays = await timersArmed(async () => {
      const waiting = limited.receive();
      await limited.send("x");
      await waiting;
    });
    assert.ok(limitedDelays.includes(60_000), `${limitedDelays}`);
  } finally {
    socket.abort();
    limited.abort();
    await server.close();
  }
});

Deno.test("stream socket: reading keeps its 30-second receive limit by default", async () => {
  const server = await engineEcho();
  try {
    const socket = new StreamSocket({ keepAliveInterval: 0 });
    await socket.connect(server.url);
    try {
      const reader = socket.readable.getReader();
      const writer = socket.writable.getWriter();
      const delays = await timersArmed(async () => {
        const reading = reader.read();
        await writer.write(new Uint8Array([1, 2, 3]));
        assert.deepEqual([...(await reading).value!], [1, 2, 3]);
      });
      assert.ok(delays.includes(30_000), `${delays}`);
      await writer.close();
      reader.releaseLock();
      await socket.closed;
    } finally {
      socket.abort();
    }
  } finally {
    await server.close();
  }
});
