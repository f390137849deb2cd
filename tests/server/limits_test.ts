/**
 * Limits against abuse on both backends: rates per socket (close with 1008
 * or drop), connections per client address (429) and per server (503),
 * each flooded from loopback while another client carries on.
 */

import assert from "node:assert/strict";
import {
  connect,
  serveEngine,
  ServerMetrics,
  type Socket,
  type SocketClosed,
  webSockets,
  type WebSocketServerOptions,
} from "../../mod.ts";
import { clientAddress, resolveLimits } from "../../lib/server/limits.ts";
import { TokenBucket } from "../../lib/server/token_bucket.ts";
import { waitFor } from "../helpers/client.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

Deno.test("token bucket: a burst, then the rate; debt is paid back first", () => {
  let now = 0;
  const bucket = new TokenBucket(10, 5, () => now);
  for (let i = 0; i < 5; i++) assert.ok(bucket.take(1));
  assert.equal(bucket.take(1), false);
  now += 100; // one token
  assert.ok(bucket.take(1));
  assert.equal(bucket.take(1), false);
  now += 10_000; // capped at the burst
  assert.equal(bucket.tokens, 5);
  assert.equal(bucket.spend(8), -3);
  now += 200; // two tokens: still in debt
  assert.equal(bucket.take(1), false);
  now += 200;
  assert.ok(bucket.take(1));
});

Deno.test("client address: proxies' headers only as far as trusted", () => {
  const request = (headers: Record<string, string>) =>
    new Request("http://x/ws", { headers });
  const xff = request({ "x-forwarded-for": "203.0.113.9, 10.0.0.2" });
  assert.equal(clientAddress(xff, "10.0.0.1", 0), "10.0.0.1");
  assert.equal(clientAddress(xff, "10.0.0.1", 1), "10.0.0.2");
  assert.equal(clientAddress(xff, "10.0.0.1", 2), "203.0.113.9");
  assert.equal(clientAddress(xff, "10.0.0.1", 5), "203.0.113.9");
  const forwarded = request({
    forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"',
    "x-forwarded-for": "198.51.100.1",
  });
  assert.equal(clientAddress(forwarded, "10.0.0.1", 1), "2001:db8::1");
  assert.equal(clientAddress(forwarded, "10.0.0.1", 2), "192.0.2.60");
  assert.equal(clientAddress(request({}), "10.0.0.1", 1), "10.0.0.1");
  assert.throws(
    () => resolveLimits({ messagesPerSecond: 0 }),
    /limits.messagesPerSecond must be a number > 0/,
  );
  assert.throws(
    () => resolveLimits({ rateLimitPolicy: "kick" as "close" }),
    /rateLimitPolicy/,
  );
});

interface Served {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const echo = (socket: Socket) => {
  socket.addEventListener("message", ({ data }) => {
    socket.send(data).catch(() => {});
  });
};

const backends: [
  string,
  (options: WebSocketServerOptions) => Promise<Served>,
][] = [
  ["native", (options) => {
    const { promise, resolve } = Promise.withResolvers<Served>();
    const server = Deno.serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        onListen: ({ port }) =>
          resolve({
            port,
            url: `ws://127.0.0.1:${port}/ws`,
            close: () => server.shutdown(),
          }),
      },
      webSockets({ path: "/ws", ...options }, echo),
    );
    return promise;
  }],
  ["engine", async (options) => {
    const server = serveEngine(
      { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
      echo,
    );
    const { port } = await server.listening;
    return {
      port,
      url: `ws://127.0.0.1:${port}/ws`,
      close: () => server.shutdown(),
    };
  }],
];

/** A client chatting at `perSecond` until `stop` resolves; returns its echoes. */
async function chat(
  socket: Socket,
  perSecond: number,
  stop: Promise<void>,
): Promise<number> {
  let stopped = false;
  stop.then(() => stopped = true);
  let echoed = 0;
  socket.addEventListener("message", () => echoed++);
  let sent = 0;
  while (!stopped) {
    await socket.send(`chat ${sent++}`);
    await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
  await waitFor(() => echoed === sent, 5000, "every chat message echoed");
  return echoed;
}

/** Sends as fast as the socket takes messages until it ends, reading all it gets. */
async function flood(socket: Socket, size = 16): Promise<SocketClosed> {
  socket.addEventListener("message", () => {});
  const payload = "x".repeat(size);
  for (let sent = 0; socket.state === "open"; sent++) {
    try {
      await socket.send(payload);
    } catch {
      break;
    }
    // A turn of the event loop now and then, so that it reads too.
    if (sent % 64 === 0) await new Promise((resolve) => setTimeout(resolve));
  }
  return socket.closed;
}

for (const [backend, serve] of backends) {
  Deno.test(`${backend}: a flood past messagesPerSecond closes that socket with 1008; a chatting client carries on`, async () => {
    const metrics = new ServerMetrics();
    const server = await serve({
      metrics,
      limits: { messagesPerSecond: 50 },
    });
    const calm = await connect(server.url);
    const flooder = await connect(server.url);
    const done = Promise.withResolvers<void>();
    const chatting = chat(calm, 20, done.promise);
    const outcome = await flood(flooder);
    if (backend === "engine") {
      // The engine keeps reading after its close frame, so it arrives.
      assert.equal(outcome.code, 1008);
      assert.equal(
        outcome.reason,
        "Rate limit: more than 50 messages per second",
      );
      assert.equal(outcome.initiator, "remote");
    } else {
      // Deno closes the connection under a client still sending: the reset
      // discards the close frame before the client reads it (1006).
      assert.ok([1008, 1006].includes(outcome.code), String(outcome.code));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    done.resolve();
    // Every message of the calm client came back (chat() waits for that).
    assert.ok(await chatting >= 3);
    assert.equal(calm.state, "open");
    assert.equal(metrics.snapshot().limitHits.messages_per_second, 1);
    // Deno reports its own close of a socket whose peer never answered as 1006.
    const closed = backend === "engine" ? "1008 close" : "1006 close";
    await waitFor(() => metrics.snapshot().closes[closed] === 1);
    await calm.close();
    await server.close();
  });

  Deno.test(`${backend}: bytesPerSecond closes a socket sending too much, even in one message`, async () => {
    const server = await serve({ limits: { bytesPerSecond: 10_000 } });
    const small = await connect(server.url);
    await small.send("x".repeat(5000));
    assert.equal((await small.receive()).type, "text");
    const big = await connect(server.url);
    await big.send("y".repeat(50_000)).catch(() => {});
    const outcome = await big.closed;
    if (backend === "engine") {
      assert.equal(outcome.code, 1008);
      assert.equal(
        outcome.reason,
        "Rate limit: more than 10000 bytes per second",
      );
    } else assert.ok([1008, 1006].includes(outcome.code));
    assert.equal(small.state, "open");
    await small.close();
    await server.close();
  });

  Deno.test(`${backend}: the drop policy discards whole messages past the rate, counts them, keeps the socket`, async () => {
    const metrics = new ServerMetrics();
    const server = await serve({
      metrics,
      limits: { messagesPerSecond: 5, rateLimitPolicy: "drop" },
    });
    const socket = await connect(server.url);
    for (let i = 0; i < 20; i++) await socket.send(`m${i}`);
    const echoed: unknown[] = [];
    socket.addEventListener("message", ({ data }) => echoed.push(data));
    await waitFor(() => echoed.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The burst of one second's worth went through, in order; the rest dropped.
    assert.deepEqual(echoed, ["m0", "m1", "m2", "m3", "m4"]);
    assert.equal(metrics.snapshot().messagesDropped, 15);
    assert.equal(metrics.snapshot().limitHits.messages_per_second, 15);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await socket.send("later");
    await waitFor(() => echoed.length === 6);
    assert.equal(echoed[5], "later");
    assert.equal(socket.state, "open");
    await socket.close();
    await server.close();
  });

  Deno.test(`${backend}: connectionsPerAddress answers 429 before the upgrade; other addresses and freed slots get in`, async () => {
    const metrics = new ServerMetrics();
    const server = await serve({
      metrics,
      limits: { connectionsPerAddress: 2, trustedProxies: 1 },
    });
    const from = (address: string) => ({
      headers: { "x-forwarded-for": address },
    });
    const first = await connect(server.url, from("198.51.100.7"));
    const second = await connect(server.url, from("198.51.100.7"));
    const refused = await rawHttp(
      server.port,
      handshakeRequest("/ws", ["X-Forwarded-For: 198.51.100.7"]),
    );
    assert.equal(refused.status, 429);
    assert.match(refused.body, /Too many connections from 198\.51\.100\.7/);
    const other = await connect(server.url, from("203.0.113.1"));
    await other.send("still here");
    assert.equal((await other.receive()).type, "text");
    await first.close();
    await waitFor(() => metrics.snapshot().connectionsOpen === 2);
    const again = await connect(server.url, from("198.51.100.7"));
    const snapshot = metrics.snapshot();
    assert.equal(snapshot.handshakesRefused.address_limit, 1);
    assert.equal(snapshot.limitHits.connections_per_address, 1);
    for (const socket of [second, other, again]) await socket.close();
    await server.close();
  });

  Deno.test(`${backend}: maxConnections answers 503 with Retry-After until a socket ends`, async () => {
    const server = await serve({
      limits: { maxConnections: 2, retryAfter: 7 },
    });
    const open = [await connect(server.url), await connect(server.url)];
    const refused = await rawHttp(server.port, handshakeRequest("/ws"));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "7");
    await open[0]!.send("ping");
    assert.equal((await open[0]!.receive()).type, "text");
    await open[1]!.close();
    let third: Socket | undefined;
    for (let attempt = 0; third === undefined && attempt < 50; attempt++) {
      third = await connect(server.url).catch(() => undefined);
      if (third === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    assert.ok(third !== undefined);
    await third.close();
    await open[0]!.close();
    await server.close();
  });
}
