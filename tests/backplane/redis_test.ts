import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient } from "redis";
import type { BackplaneEvent } from "../../lib/backplane/backplane.ts";
import type { Envelope } from "../../lib/backplane/envelope.ts";
import { encodeEnvelope } from "../../lib/backplane/envelope.ts";
import {
  RedisBackplane,
  type RedisBackplaneOptions,
} from "../../lib/backplane/redis.ts";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import { fileExists, peerAvailable } from "../helpers/peers.ts";
import {
  freePort,
  REDIS_SERVER,
  type RedisServer,
  startRedis,
} from "./redis_server.ts";

const run = peerAvailable("redis-server", fileExists(REDIS_SERVER));
const lobby = { kind: "room", name: "lobby" } as const;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeout = 5_000,
): Promise<number> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > timeout) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await delay(10);
  }
  return performance.now() - start;
}

/** Two backplanes (two "processes") on one Redis, and a plain client to look at Redis. */
async function cluster(
  redis: RedisServer,
  prefix: string = crypto.randomUUID(),
) {
  const a = new RedisBackplane({ url: redis.url, prefix, id: "process-a" });
  const b = new RedisBackplane({ url: redis.url, prefix, id: "process-b" });
  const events = { a: [] as BackplaneEvent[], b: [] as BackplaneEvent[] };
  a.onEvent((event) => events.a.push(event));
  b.onEvent((event) => events.b.push(event));
  const inbox = { a: [] as Envelope[], b: [] as Envelope[] };
  a.onMessage((envelope) => inbox.a.push(envelope));
  b.onMessage((envelope) => inbox.b.push(envelope));
  const admin = createClient({ url: redis.url });
  admin.on("error", () => {});
  await Promise.all([a.ready, b.ready, admin.connect()]);
  const numsub = async (channel: string): Promise<number> => {
    const reply = await admin.sendCommand(["PUBSUB", "NUMSUB", channel]) as [
      string,
      number,
    ];
    return Number(reply[1]);
  };
  return {
    a,
    b,
    admin,
    events,
    inbox,
    numsub,
    prefix,
    async close() {
      await Promise.all([a.close(), b.close()]);
      if (admin.isOpen) admin.destroy();
    },
  };
}

Deno.test({
  name:
    "Redis backplane: two processes exchange text and binary messages for rooms, sockets, users and everyone; none gets its own",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "app");
    try {
      assert.equal(c.a.channel(lobby), "socketry:app:room:lobby");
      assert.equal(c.a.channel({ kind: "all" }), "socketry:app:all");
      assert.equal(
        c.a.channel({ kind: "user", name: "ada" }),
        "socketry:app:user:ada",
      );
      const targets = [
        lobby,
        { kind: "socket", name: "process-b:7" },
        { kind: "user", name: "ada" },
        { kind: "all" },
      ] as const;
      for (const target of targets) {
        c.a.subscribe(target);
        c.b.subscribe(target);
      }
      await Promise.all([c.a.settled(), c.b.settled()]);
      for (const target of targets) {
        assert.equal(await c.a.publish({ target, data: "text" }), true);
        await c.a.publish({
          target,
          except: "process-a:1",
          data: new Uint8Array([1, 2, 3]),
        });
      }
      await c.b.publish({ target: lobby, data: "from b" });
      await until("8 messages at b", () => c.inbox.b.length === 8);
      await until("1 message at a", () => c.inbox.a.length === 1);
      await delay(100);
      assert.equal(c.inbox.b.length, 8);
      assert.deepEqual(c.inbox.a, [{
        origin: "process-b",
        seq: 1,
        target: lobby,
        data: "from b",
      }]);
      c.inbox.b.forEach((envelope, i) => {
        assert.equal(envelope.origin, "process-a");
        assert.equal(envelope.seq, i + 1);
        assert.deepEqual(envelope.target, targets[i >> 1]);
        if (i % 2 === 0) {
          assert.equal(envelope.data, "text");
          assert.equal(envelope.except, undefined);
        } else {
          assert.deepEqual(envelope.data, new Uint8Array([1, 2, 3]));
          assert.equal(envelope.except, "process-a:1");
        }
      });
      assert.equal(c.a.stats.published, 8);
      assert.equal(c.a.stats.received, 1);
      assert.equal(c.b.stats.received, 8);
      assert.equal(c.b.stats.subscriptions, 4);
      const { publishLatency } = c.a.stats;
      assert.ok(
        publishLatency > 0 && publishLatency < 1000,
        `${publishLatency}`,
      );
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: 10,000 messages of one publisher arrive once each and in publish order",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis);
    try {
      c.b.subscribe(lobby);
      await c.b.settled();
      const sent: Promise<boolean>[] = [];
      for (let i = 1; i <= 10_000; i++) {
        sent.push(c.a.publish({ target: lobby, data: `m${i}` }));
      }
      assert.ok((await Promise.all(sent)).every((ok) => ok));
      await until("10,000 messages", () => c.inbox.b.length >= 10_000, 20_000);
      await delay(100);
      assert.equal(c.inbox.b.length, 10_000);
      c.inbox.b.forEach((envelope, i) => {
        assert.equal(envelope.seq, i + 1);
        assert.equal(envelope.data, `m${i + 1}`);
      });
      assert.equal(c.b.stats.malformed, 0);
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: a Redis that refuses the password says so with its own status, keeps the password out of the message, and lets the right one in",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis(freePort(), ["--requirepass", "s3cret"]);
    const port = new URL(redis.url).port;
    try {
      for (const url of [`redis://:wrong@127.0.0.1:${port}`, redis.url]) {
        const backplane = new RedisBackplane({ url });
        const refusal = Promise.withResolvers<WebSocketError>();
        backplane.onEvent((event) => {
          if (event.type === "state" && event.error instanceof WebSocketError) {
            refusal.resolve(event.error);
          }
        });
        try {
          const error = await refusal.promise;
          assert.equal(error.status, WebSocketStatus.CredentialsRefused);
          assert.match(
            error.message,
            /^Redis at redis:\/\/.*127\.0\.0\.1:\d+\/? refused the credentials: (WRONGPASS|NOAUTH) .*redis:\/\/\[USER\]:PASSWORD@HOST:PORT/,
          );
          assert.doesNotMatch(error.message, /wrong/);
          assert.notEqual(backplane.state, "ready");
          assert.equal(
            await backplane.publish({ target: lobby, data: "x" }),
            false,
          );
        } finally {
          await backplane.close();
        }
      }
      const admitted = new RedisBackplane({
        url: `redis://:s3cret@127.0.0.1:${port}`,
      });
      try {
        await admitted.ready;
        assert.equal(
          await admitted.publish({ target: lobby, data: "x" }),
          true,
        );
      } finally {
        await admitted.close();
      }
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: PUBSUB NUMSUB follows subscribe and unsubscribe of each process",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "numsub");
    const channel = "socketry:numsub:room:lobby";
    try {
      assert.equal(await c.numsub(channel), 0);
      c.a.subscribe(lobby);
      c.a.subscribe(lobby);
      await c.a.settled();
      assert.equal(await c.numsub(channel), 1);
      c.b.subscribe(lobby);
      await c.b.settled();
      assert.equal(await c.numsub(channel), 2);
      c.a.unsubscribe(lobby);
      await c.a.settled();
      assert.equal(await c.numsub(channel), 1);
      assert.equal(c.a.subscribed(lobby), false);
      assert.equal(c.b.subscribed(lobby), true);
      c.b.unsubscribe(lobby);
      c.b.unsubscribe(lobby);
      await c.b.settled();
      assert.equal(await c.numsub(channel), 0);
      // A process that is not subscribed gets nothing for the room.
      await c.a.publish({ target: lobby, data: "nobody" });
      await delay(100);
      assert.equal(c.inbox.b.length, 0);
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: joins and leaves of one room in quick succession, not awaited, end subscribed exactly when the last call subscribed",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "flap");
    const channel = "socketry:flap:room:lobby";
    try {
      for (const [rounds, last] of [[50, "subscribe"], [51, "unsubscribe"]]) {
        for (let i = 0; i < (rounds as number); i++) {
          c.a.subscribe(lobby);
          c.a.unsubscribe(lobby);
        }
        if (last === "subscribe") c.a.subscribe(lobby);
        await c.a.settled();
        const expected = last === "subscribe" ? 1 : 0;
        assert.equal(await c.numsub(channel), expected, `after ${last}`);
        assert.equal(c.a.subscribed(lobby), expected === 1);
        c.inbox.a.length = 0;
        await c.b.publish({ target: lobby, data: `after ${last}` });
        await delay(200);
        assert.deepEqual(
          c.inbox.a.map((envelope) => envelope.data),
          expected === 1 ? [`after ${last}`] : [],
        );
        c.a.unsubscribe(lobby);
        await c.a.settled();
      }
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: a Redis that stops answering (SIGSTOP) takes the link down after stallTimeout; publications fail at once meanwhile; those sent before are delivered when it answers again",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "stall");
    const s = new RedisBackplane({
      url: redis.url,
      prefix: "stall",
      id: "process-s",
      stallTimeout: 300,
    });
    const states: string[] = [];
    s.onEvent((event) => {
      if (event.type === "state") {
        states.push(
          `${event.state}${
            event.error === undefined ? "" : `: ${event.error}`
          }`,
        );
      }
    });
    const pid = redis.pid!;
    try {
      await s.ready;
      c.b.subscribe(lobby);
      await c.b.settled();
      assert.equal(await s.publish({ target: lobby, data: "before" }), true);
      Deno.kill(pid, "SIGSTOP");
      const waiting = [1, 2, 3].map((i) =>
        s.publish({ target: lobby, data: `sent ${i}` })
      );
      await delay(600);
      const started = performance.now();
      assert.equal(await s.publish({ target: lobby, data: "refused" }), false);
      assert.ok(performance.now() - started < 200, "it waited for Redis");
      assert.equal(s.state, "down");
      assert.match(states.at(-1)!, /^down: .*answered nothing for \d+ ms/);
      assert.equal(s.stats.publishFailures, 1);
      Deno.kill(pid, "SIGCONT");
      assert.deepEqual(await Promise.all(waiting), [true, true, true]);
      assert.equal(s.state, "ready");
      assert.equal(await s.publish({ target: lobby, data: "after" }), true);
      await until("five deliveries", () => c.inbox.b.length === 5);
      assert.deepEqual(
        c.inbox.b.map((envelope) => envelope.data),
        ["before", "sent 1", "sent 2", "sent 3", "after"],
      );
      assert.deepEqual(states.map((state) => state.split(":")[0]), [
        "ready",
        "down",
        "ready",
      ]);
      // Closing while Redis is frozen again, a publication in flight: the
      // stall does not hold the close.
      Deno.kill(pid, "SIGSTOP");
      const last = s.publish({ target: lobby, data: "in flight" });
      const closing = performance.now();
      await s.close();
      assert.ok(
        performance.now() - closing < 2000,
        `close took ${performance.now() - closing} ms`,
      );
      assert.equal(await last, false);
    } finally {
      Deno.kill(pid, "SIGCONT");
      await s.close();
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: a process too busy to read Redis's answers (a long synchronous stretch) is not a stall",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const s = new RedisBackplane({
      url: redis.url,
      prefix: "busy",
      stallTimeout: 300,
    });
    const states: string[] = [];
    s.onEvent((event) => {
      if (event.type === "state") states.push(event.state);
    });
    try {
      await s.ready;
      const first = s.publish({ target: lobby, data: "before" });
      // Redis answers at once, but nothing is read for a second: what a
      // burst of messages that Deno's WebSocket hands over without
      // yielding does to a server.
      const busyUntil = performance.now() + 1000;
      while (performance.now() < busyUntil) {
        // Busy: the event loop reads nothing.
      }
      const second = s.publish({ target: lobby, data: "after" });
      assert.deepEqual(await Promise.all([first, second]), [true, true]);
      await delay(500); // several ticks of the check
      assert.equal(s.state, "ready");
      assert.deepEqual(states, ["ready"]);
      assert.equal(s.stats.publishFailures, 0);
    } finally {
      await s.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: Redis stops and restarts; publications fail fast and are counted meanwhile; subscriptions are back within 5 s and delivery resumes",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "outage");
    const rooms = ["r1", "r2", "r3"].map((name) => ({
      kind: "room" as const,
      name,
    }));
    try {
      for (const room of rooms) {
        c.a.subscribe(room);
        c.b.subscribe(room);
      }
      await Promise.all([c.a.settled(), c.b.settled()]);
      assert.equal(
        await c.a.publish({ target: rooms[0]!, data: "before" }),
        true,
      );
      await until("the first message", () => c.inbox.b.length === 1);

      await redis.stop(true);
      await until(
        "both down",
        () => c.a.state === "down" && c.b.state === "down",
      );
      const started = performance.now();
      assert.equal(
        await c.a.publish({ target: rooms[0]!, data: "lost" }),
        false,
      );
      assert.ok(performance.now() - started < 50, "publish did not fail fast");
      // The room membership of each process is unchanged meanwhile.
      assert.equal(c.b.subscribed(rooms[1]!), true);
      c.b.subscribe({ kind: "room", name: "joined-while-down" });

      await redis.start();
      const restored = await until("subscriptions restored", async () => {
        if (c.a.state !== "ready" || c.b.state !== "ready") return false;
        const counts = await Promise.all(
          rooms.map((room) => c.numsub(c.a.channel(room))),
        );
        return counts.every((count) => count === 2) &&
          await c.numsub("socketry:outage:room:joined-while-down") === 1;
      }, 5_000);
      console.log(
        `subscriptions restored ${restored.toFixed(0)} ms after restart`,
      );

      for (const room of rooms) {
        assert.equal(await c.a.publish({ target: room, data: "after" }), true);
      }
      await until("3 more messages", () => c.inbox.b.length === 4);
      assert.deepEqual(
        c.inbox.b.map((envelope) => [envelope.target, envelope.data]),
        [[rooms[0], "before"], ...rooms.map((room) => [room, "after"])],
      );
      // Sequence 2 ("lost") never arrived: the gap is what the outage lost.
      assert.deepEqual(c.inbox.b.map((envelope) => envelope.seq), [1, 3, 4, 5]);
      assert.equal(c.a.stats.publishFailures, 1);
      assert.equal(c.a.stats.published, 4);
      const kinds = (events: BackplaneEvent[]) =>
        events.map((event) =>
          event.type === "state" ? event.state : event.type
        );
      assert.ok(kinds(c.events.a).includes("publishFailed"));
      for (const events of [c.events.a, c.events.b]) {
        const states = kinds(events).filter((kind) => kind !== "publishFailed");
        assert.equal(states.at(-1), "ready");
        assert.ok(states.includes("down"));
        const down = events.find((event) =>
          event.type === "state" && event.state === "down" &&
          event.error !== undefined
        );
        assert.ok(down !== undefined && down.type === "state");
        assert.match(String(down.error), new RegExp(`Redis at ${redis.url}`));
      }
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: garbage and mislabelled envelopes on a channel are dropped, counted and reported; delivery goes on",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "garbage");
    try {
      c.b.subscribe(lobby);
      c.b.subscribe({ kind: "room", name: "other" });
      await c.b.settled();
      const channel = c.b.channel(lobby);
      await c.admin.publish(channel, "PING? definitely not an envelope");
      await c.admin.publish(channel, Buffer.from([0x53, 1, 0, 1]));
      // A valid envelope for room "other", sent on the lobby's channel.
      await c.admin.publish(
        channel,
        Buffer.from(encodeEnvelope({
          origin: "intruder",
          seq: 1,
          target: { kind: "room", name: "other" },
          data: "misplaced",
        })),
      );
      await c.a.publish({ target: lobby, data: "fine" });
      await until("the valid message", () => c.inbox.b.length === 1);
      assert.equal(c.inbox.b[0]!.data, "fine");
      assert.equal(c.b.stats.malformed, 3);
      const reasons = c.events.b.flatMap((event) =>
        event.type === "malformed" ? [`${event.channel}: ${event.reason}`] : []
      );
      assert.deepEqual(reasons, [
        `${channel}: not an envelope (bad magic)`,
        `${channel}: shorter than a header`,
        `${channel}: a room:other message on the room:lobby channel`,
      ]);
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name:
    "Redis backplane: an unreachable Redis at start gives clear errors and retries; it connects, with its subscriptions, once Redis is up",
  ignore: !run,
  fn: async () => {
    const port = freePort();
    const url = `redis://127.0.0.1:${port}`;
    const backplane = new RedisBackplane({ url, prefix: "late" });
    const events: BackplaneEvent[] = [];
    backplane.onEvent((event) => events.push(event));
    let redis: RedisServer | undefined;
    const admin = createClient({ url });
    admin.on("error", () => {});
    try {
      backplane.subscribe(lobby);
      await until("two failed attempts", () => events.length >= 2);
      assert.equal(backplane.state, "connecting");
      const first = events[0]!;
      assert.ok(first.type === "state" && first.state === "connecting");
      assert.match(
        String(first.error),
        new RegExp(`Redis at ${url}.*ECONNREFUSED.*retrying`),
      );
      assert.equal(
        await backplane.publish({ target: lobby, data: "x" }),
        false,
      );
      assert.equal(backplane.stats.publishFailures, 1);

      redis = await startRedis(port);
      await until("ready", () => backplane.state === "ready", 5_000);
      await backplane.ready;
      await backplane.settled();
      await admin.connect();
      const reply = await admin.sendCommand([
        "PUBSUB",
        "NUMSUB",
        "socketry:late:room:lobby",
      ]) as [string, number];
      assert.equal(Number(reply[1]), 1);
    } finally {
      if (admin.isOpen) admin.destroy();
      await backplane.close();
      await redis?.stop();
    }
    // Closed before it ever connected: `ready` rejects, nothing is left running.
    const never = new RedisBackplane({
      url: `redis://127.0.0.1:${freePort()}`,
    });
    never.onEvent(() => {});
    await never.close();
    await assert.rejects(never.ready, WebSocketError);
    assert.equal(never.state, "down");
  },
});

Deno.test({
  name:
    "Redis backplane: publications with echo come back to their publisher in the order every subscriber sees, once each; at once when they cannot",
  ignore: !run,
  fn: async () => {
    const redis = await startRedis();
    const c = await cluster(redis, "echo");
    try {
      assert.equal(c.a.totalOrder, true);
      // Not subscribed (yet): nothing would come back, so it is served now.
      let early = 0;
      void c.a.publish({ target: lobby, data: "early", echo: () => early++ });
      assert.equal(early, 1);

      c.a.subscribe(lobby);
      c.b.subscribe(lobby);
      await Promise.all([c.a.settled(), c.b.settled()]);
      const seen = { a: [] as string[], b: [] as string[] };
      c.a.onMessage((envelope) => seen.a.push(String(envelope.data)));
      c.b.onMessage((envelope) => seen.b.push(String(envelope.data)));
      const count = 500;
      for (let i = 1; i <= count; i++) {
        for (const side of ["a", "b"] as const) {
          const data = `${side} ${i}`;
          void c[side].publish({
            target: lobby,
            data,
            echo: () => seen[side].push(data),
          });
        }
      }
      await until(
        "every message at both",
        () => seen.a.length === 2 * count && seen.b.length === 2 * count,
        10_000,
      );
      await delay(100);
      assert.equal(seen.a.length, 2 * count);
      assert.deepEqual(seen.a, seen.b);
      assert.equal(new Set(seen.a).size, 2 * count);
      // The own publications are not handed to the handlers.
      assert.equal(c.a.stats.received, count);

      await redis.stop(true);
      await until("a down", () => c.a.state === "down");
      let during = 0;
      assert.equal(
        await c.a.publish({ target: lobby, data: "x", echo: () => during++ }),
        false,
      );
      assert.equal(during, 1);
    } finally {
      await c.close();
      await redis.stop();
    }
  },
});

Deno.test("Redis backplane: a misspelt option is refused before anything connects", () => {
  const misspelt: Record<string, unknown> = { uri: "redis://127.0.0.1:1" };
  assert.throws(
    () => new RedisBackplane(misspelt as RedisBackplaneOptions),
    /^TypeError: Unknown option "uri": did you mean "url"\?$/,
  );
});
