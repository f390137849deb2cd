/** Processors in several "processes" sharing rooms, sockets and users through a backplane. */

import assert from "node:assert/strict";
import {
  type Socket,
  SocketProcessor,
  type SocketProcessorOptions,
} from "../../mod.ts";
import type { Backplane } from "../../lib/backplane/backplane.ts";
import { BroadcastChannelBackplane } from "../../lib/backplane/broadcast_channel.ts";
import { RedisBackplane } from "../../lib/backplane/redis.ts";
import { Inbox, TestClient, waitFor } from "../helpers/client.ts";
import { nativeHarness, type TestServer } from "../helpers/harness.ts";
import { fileExists, peerAvailable } from "../helpers/peers.ts";
import { REDIS_SERVER, type RedisServer, startRedis } from "./redis_server.ts";

const hasRedis = peerAvailable("redis-server", fileExists(REDIS_SERVER));

/** One "process": a processor with its backplane behind a server. */
interface Node {
  readonly processor: SocketProcessor;
  readonly backplane: Backplane;
  /** Connects a client (of `user`) and returns it with its server socket. */
  connect(user?: string): Promise<{ client: TestClient; socket: Socket }>;
  close(): Promise<void>;
}

async function node(
  backplane: Backplane,
  options: SocketProcessorOptions = {},
): Promise<Node> {
  const processor = new SocketProcessor({
    backplane,
    onError: () => {},
    ...options,
  });
  const arrivals = new Inbox<Socket>();
  const server: TestServer = await nativeHarness.serve(
    {},
    (socket, request) => {
      arrivals.push(socket);
      const user = new URL(request.url).searchParams.get("user");
      return processor.add(socket, user === null ? {} : { user });
    },
  );
  const clients: TestClient[] = [];
  return {
    processor,
    backplane,
    async connect(user) {
      const client = await TestClient.open(
        user === undefined ? server.url : `${server.url}?user=${user}`,
      );
      clients.push(client);
      const socket = await arrivals.next();
      await waitFor(() => socket.state === "open");
      return { client, socket };
    },
    async close() {
      await processor.shutdown({ timeout: 2000 });
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
      await backplane.close();
    },
  };
}

async function nothingMore(...clients: TestClient[]): Promise<void> {
  await Promise.all(
    clients.map((client) => assert.rejects(client.next(150), /no message/)),
  );
}

type Kind = "BroadcastChannel" | "Redis";

async function pair(
  kind: Kind,
  redis?: RedisServer,
  options: SocketProcessorOptions = {},
): Promise<[Node, Node]> {
  if (kind === "BroadcastChannel") {
    const channel = crypto.randomUUID();
    const totalOrder = (options.totalOrder ?? false) !== false;
    const backplanes = [1, 2].map(() =>
      new BroadcastChannelBackplane({ channel, totalOrder })
    );
    // With totalOrder, each listens through a worker: ready once it is.
    await Promise.all(backplanes.map((backplane) => backplane.ready));
    return await Promise.all(
      backplanes.map((backplane) => node(backplane, options)),
    ) as [Node, Node];
  }
  const prefix = crypto.randomUUID();
  const backplanes = [1, 2].map(() =>
    new RedisBackplane({ url: redis!.url, prefix })
  );
  await Promise.all(backplanes.map((backplane) => backplane.ready));
  return await Promise.all(
    backplanes.map((backplane) => node(backplane, options)),
  ) as [Node, Node];
}

async function settled(...nodes: Node[]): Promise<void> {
  for (const { backplane } of nodes) {
    if (backplane instanceof RedisBackplane) await backplane.settled();
  }
}

/**
 * Four members, two in each of `p` and `q`, in room "numbers"; each
 * processor sends `count` numbered messages to it, interleaved. Checks that
 * every member got each sender's messages once and in order, and returns
 * what each member saw and what each `sendToGroup()` resolved with.
 */
async function numbered(p: Node, q: Node, count: number) {
  const members = [
    await p.connect(),
    await p.connect(),
    await q.connect(),
    await q.connect(),
  ];
  members.forEach(({ socket }, i) =>
    (i < 2 ? p : q).processor.join(socket, "numbers")
  );
  await settled(p, q);
  const results: Promise<{ sent: number }>[] = [];
  for (let i = 1; i <= count; i++) {
    results.push(p.processor.sendToGroup("numbers", `p ${i}`));
    results.push(q.processor.sendToGroup("numbers", `q ${i}`));
  }
  const orders: string[][] = [];
  for (const { client } of members) {
    const order: string[] = [];
    const last = { p: 0, q: 0 };
    for (let i = 0; i < 2 * count; i++) {
      const text = String(await client.next());
      const [sender, n] = text.split(" ") as ["p" | "q", string];
      assert.equal(Number(n), last[sender] + 1, `${sender} out of order`);
      last[sender] = Number(n);
      order.push(text);
    }
    assert.deepEqual(last, { p: count, q: count });
    orders.push(order);
  }
  await nothingMore(...members.map(({ client }) => client));
  return { orders, results: await Promise.all(results) };
}

for (const kind of ["BroadcastChannel", "Redis"] as const) {
  Deno.test({
    name:
      `processors on a ${kind} backplane: rooms, broadcasts, one socket and one user reach every member in every process exactly once`,
    ignore: kind === "Redis" && !hasRedis,
    fn: async () => {
      const redis = kind === "Redis" ? await startRedis() : undefined;
      const [p, q] = await pair(kind, redis);
      try {
        const a1 = await p.connect("ada");
        const a2 = await p.connect();
        const b1 = await q.connect("ada");
        const b2 = await q.connect("bob");
        p.processor.join(a1.socket, "lobby");
        p.processor.join(a2.socket, "lobby");
        q.processor.join(b1.socket, "lobby");
        assert.equal(
          q.backplane.subscribed({ kind: "room", name: "lobby" }),
          true,
        );
        assert.equal(
          q.backplane.subscribed({ kind: "user", name: "ada" }),
          true,
        );
        await settled(p, q);

        // A room, the sender included by default.
        assert.deepEqual(
          await p.processor.sendToGroup("lobby", "to the room"),
          {
            sent: 2,
            failed: 0,
          },
        );
        for (const member of [a1, a2, b1]) {
          assert.equal(await member.client.next(), "to the room");
        }
        // The sender left out: it is in p, and q's members still get it.
        await p.processor.sendToGroup("lobby", new Uint8Array([1, 2]), {
          except: a1.socket,
        });
        for (const member of [a2, b1]) {
          assert.deepEqual(
            new Uint8Array(await member.client.next() as ArrayBuffer),
            new Uint8Array([1, 2]),
          );
        }
        // Everyone, from the other side.
        await q.processor.broadcast("to all");
        for (const member of [a1, a2, b1, b2]) {
          assert.equal(await member.client.next(), "to all");
        }
        // One socket held by the other process, by its id.
        const id = q.processor.idOf(b2.socket)!;
        assert.match(id, new RegExp(`^${q.backplane.id}:`));
        await p.processor.sendToSocket(id, "just b2");
        assert.equal(await b2.client.next(), "just b2");
        // One user, with a socket in each process.
        await q.processor.sendToUser("ada", "hi ada");
        assert.equal(await a1.client.next(), "hi ada");
        assert.equal(await b1.client.next(), "hi ada");
        await nothingMore(a1.client, a2.client, b1.client, b2.client);

        // The last local member leaves: q unsubscribes, and gets nothing more.
        q.processor.leave(b1.socket, "lobby");
        assert.equal(
          q.backplane.subscribed({ kind: "room", name: "lobby" }),
          false,
        );
        await settled(q);
        await p.processor.sendToGroup("lobby", "after b1 left");
        assert.equal(await a1.client.next(), "after b1 left");
        assert.equal(await a2.client.next(), "after b1 left");
        await nothingMore(b1.client);
        assert.equal(p.backplane.stats.publishFailures, 0);
        assert.equal(q.backplane.stats.malformed, 0);
      } finally {
        await Promise.all([p.close(), q.close()]);
        await redis?.stop();
      }
    },
  });

  Deno.test({
    name:
      `processors on a ${kind} backplane: 2,000 numbered messages from senders in both processes reach every member once and in each sender's order`,
    ignore: kind === "Redis" && !hasRedis,
    fn: async () => {
      const redis = kind === "Redis" ? await startRedis() : undefined;
      const [p, q] = await pair(kind, redis);
      try {
        await numbered(p, q, 1000);
      } finally {
        await Promise.all([p.close(), q.close()]);
        await redis?.stop();
      }
    },
  });
}

for (const kind of ["BroadcastChannel", "Redis"] as const) {
  Deno.test({
    name:
      `processors on a ${kind} backplane: member counts and users of a room across processes, after joins, leaves and a process that stops`,
    ignore: kind === "Redis" && !hasRedis,
    fn: async () => {
      const redis = kind === "Redis" ? await startRedis() : undefined;
      const [p, q] = await pair(kind, redis);
      try {
        const a1 = await p.connect("ada");
        const a2 = await p.connect();
        const b1 = await q.connect("bob");
        const b2 = await q.connect("bob");
        p.processor.join(a1.socket, "lobby");
        p.processor.join(a2.socket, "lobby");
        p.processor.join(a2.socket, "kitchen");
        await settled(p);
        q.processor.join(b1.socket, "lobby");
        q.processor.join(b2.socket, "lobby");
        await waitFor(
          () =>
            p.processor.clusterCount("lobby") === 4 &&
            q.processor.clusterCount("lobby") === 4,
          5_000,
          "4 members",
        );
        assert.deepEqual(p.processor.clusterUsers("lobby").sort(), [
          "ada",
          "bob",
        ]);
        assert.deepEqual(q.processor.clusterUsers("lobby").sort(), [
          "ada",
          "bob",
        ]);
        // q holds no member of the kitchen: it does not follow that room.
        assert.equal(p.processor.clusterCount("kitchen"), 1);
        assert.equal(q.processor.clusterCount("kitchen"), 0);

        q.processor.leave(b1.socket, "lobby");
        await waitFor(() => p.processor.clusterCount("lobby") === 3);
        await b2.client.close();
        await waitFor(() => p.processor.clusterCount("lobby") === 2);
        assert.deepEqual(p.processor.clusterUsers("lobby"), ["ada"]);
        await q.processor.shutdown();
        assert.equal(p.processor.clusterCount("lobby"), 2);
      } finally {
        await Promise.all([p.close(), q.close()]);
        await redis?.stop();
      }
    },
  });
}

Deno.test("onClusterCount follows the room's size across processes", async () => {
  const channel = crypto.randomUUID();
  const counts: string[] = [];
  const p = await node(new BroadcastChannelBackplane({ channel }), {
    onClusterCount: (room, members) => counts.push(`${room}=${members}`),
  });
  const q = await node(new BroadcastChannelBackplane({ channel }));
  try {
    const a = await p.connect();
    const b = await q.connect();
    p.processor.join(a.socket, "lobby");
    await waitFor(() => counts.length === 1);
    q.processor.join(b.socket, "lobby");
    await waitFor(() => counts.length === 2);
    q.processor.leave(b.socket, "lobby");
    await waitFor(() => counts.length === 3);
    p.processor.leave(a.socket, "lobby");
    await waitFor(() => counts.length === 4);
    assert.deepEqual(counts, ["lobby=1", "lobby=2", "lobby=1", "lobby=0"]);
  } finally {
    await Promise.all([p.close(), q.close()]);
  }
});

for (const kind of ["BroadcastChannel", "Redis"] as const) {
  Deno.test({
    name:
      `${kind}: a processor that shuts down tells the others its members left, even when its backplane is closed at once`,
    ignore: kind === "Redis" && !hasRedis,
    fn: async () => {
      const redis = kind === "Redis" ? await startRedis() : undefined;
      const [p, q] = await pair(kind, redis);
      try {
        const a = await p.connect();
        const b = await q.connect();
        p.processor.join(a.socket, "lobby");
        q.processor.join(b.socket, "lobby");
        await waitFor(() => q.processor.clusterCount("lobby") === 2);
        await p.processor.shutdown({ timeout: 2000 });
        await p.backplane.close();
        await waitFor(() => q.processor.clusterCount("lobby") === 1);
      } finally {
        await Promise.all([p.close(), q.close()]);
        await redis?.stop();
      }
    },
  });
}

Deno.test("a processor with a backplane refuses room and user names the backplane cannot carry", async () => {
  const [p, q] = await pair("BroadcastChannel");
  try {
    const { socket } = await p.connect();
    assert.throws(() => p.processor.join(socket, ""), /empty/);
    assert.throws(() => p.processor.join(socket, "x".repeat(129)), /longer/);
    assert.deepEqual(p.processor.groupsOf(socket), []);
    // Checked before the processor takes charge of the socket.
    assert.throws(
      () => q.processor.add(socket, { user: "bad\nuser" }),
      /control/,
    );
    assert.equal(q.processor.has(socket), false);
  } finally {
    await Promise.all([p.close(), q.close()]);
  }
});

for (const kind of ["BroadcastChannel", "Redis"] as const) {
  Deno.test({
    name:
      `${kind}, rooms in total order: 2,000 messages from senders in both processes reach all four members in one and the same order`,
    ignore: kind === "Redis" && !hasRedis,
    fn: async () => {
      const redis = kind === "Redis" ? await startRedis() : undefined;
      const [p, q] = await pair(kind, redis, {
        totalOrder: (room) => room !== "loose",
      });
      try {
        const { orders, results } = await numbered(p, q, 1000);
        for (const order of orders.slice(1)) assert.deepEqual(order, orders[0]);
        // Each call resolved with its local delivery: two members each.
        for (const { sent } of results) assert.equal(sent, 2);
      } finally {
        await Promise.all([p.close(), q.close()]);
        await redis?.stop();
      }
    },
  });
}

Deno.test({
  name:
    "Redis, rooms in total order: the sender can be left out; a room not in total order and the local members during an outage are served at once",
  ignore: !hasRedis,
  fn: async () => {
    const redis = await startRedis();
    const [p, q] = await pair("Redis", redis, {
      totalOrder: (room) => room !== "loose",
    });
    try {
      const a1 = await p.connect();
      const a2 = await p.connect();
      const b1 = await q.connect();
      for (const room of ["lobby", "loose"]) {
        p.processor.join(a1.socket, room);
        p.processor.join(a2.socket, room);
        q.processor.join(b1.socket, room);
      }
      await settled(p, q);
      const bytes = new Uint8Array([1, 2, 3]);
      const sent = p.processor.sendToGroup("lobby", bytes, {
        except: a1.socket,
      });
      // The caller's buffer may change before the message comes back.
      bytes[0] = 9;
      assert.deepEqual(await sent, { sent: 1, failed: 0 });
      for (const member of [a2, b1]) {
        assert.deepEqual(
          new Uint8Array(await member.client.next() as ArrayBuffer),
          new Uint8Array([1, 2, 3]),
        );
      }
      await nothingMore(a1.client);

      // Not in total order: local members are served before the call returns.
      const loose = p.processor.sendToGroup("loose", "at once");
      assert.deepEqual(await loose, { sent: 2, failed: 0 });

      for (const member of [a1, a2, b1]) {
        assert.equal(await member.client.next(), "at once");
      }
      await redis.stop(true);
      await waitFor(() => p.backplane.state === "down");
      assert.deepEqual(
        await p.processor.sendToGroup("lobby", "during the outage"),
        { sent: 2, failed: 0 },
      );
      assert.equal(await a1.client.next(), "during the outage");
      assert.equal(await a2.client.next(), "during the outage");
      await nothingMore(b1.client);
      assert.equal(p.backplane.stats.publishFailures, 1);
    } finally {
      await Promise.all([p.close(), q.close()]);
      await redis.stop();
    }
  },
});

Deno.test("totalOrder needs a backplane that has one: a BroadcastChannel backplane without its totalOrder option is refused", async () => {
  const channel = crypto.randomUUID();
  const plain = new BroadcastChannelBackplane({ channel });
  const ordered = new BroadcastChannelBackplane({ channel, totalOrder: true });
  try {
    assert.equal(plain.totalOrder, false);
    assert.throws(
      () => new SocketProcessor({ backplane: plain, totalOrder: true }),
      (error: unknown) =>
        error instanceof TypeError &&
        /totalOrder needs a backplane/.test(error.message),
    );
    assert.equal(ordered.totalOrder, true);
    // Ready at once without a listening worker, once it listens with one.
    await plain.ready;
    assert.equal(ordered.state, "connecting");
    await ordered.ready;
    assert.equal(ordered.state, "ready");
    new SocketProcessor({ backplane: ordered, totalOrder: true });
    // Without a backplane, one process's rooms have one order already.
    new SocketProcessor({ totalOrder: true });
  } finally {
    await Promise.all([plain.close(), ordered.close()]);
  }
});
