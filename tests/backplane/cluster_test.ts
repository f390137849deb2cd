/**
 * Two real server processes sharing rooms through a real Redis, with real
 * WebSocket clients: delivery and per-sender order across processes, user
 * and socket targeting, presence counts, a Redis restart, garbage on a
 * channel, and one process stopping while the other goes on.
 */

import assert from "node:assert/strict";
import { createClient } from "redis";
import { TestClient } from "../helpers/client.ts";
import { fileExists, peerAvailable } from "../helpers/peers.ts";
import { ROOT } from "../helpers/processes.ts";
import { freePort, REDIS_SERVER, startRedis } from "./redis_server.ts";

const run = peerAvailable("redis-server", fileExists(REDIS_SERVER));

interface ClusterNode {
  readonly url: string;
  /** Resolves when the process printed a line containing `text`. */
  printed(text: string, timeout?: number): Promise<void>;
  /** What the process printed so far. */
  output(): string;
  /** SIGTERM by PID; resolves with the exit code. */
  stop(): Promise<number>;
}

async function startNode(
  redisUrl: string,
  prefix: string,
  order: "sender" | "total",
): Promise<ClusterNode> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tests/backplane/cluster_node.ts",
      String(port),
      redisUrl,
      prefix,
      order,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let output = "";
  const waiting = new Set<() => void>();
  const pump = (async () => {
    for await (
      const text of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      output += text;
      for (const check of waiting) check();
    }
  })();
  const printed = (text: string, timeout = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(new Error(`no "${text}" within ${timeout} ms:\n${output}`));
      }, timeout);
      const check = () => {
        if (!output.includes(text)) return;
        clearTimeout(timer);
        waiting.delete(check);
        resolve();
      };
      waiting.add(check);
      check();
    });
  await printed("Listening on");
  await printed("backplane ready");
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    printed,
    output: () => output,
    async stop() {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      const status = await child.status;
      await pump;
      return status.code;
    },
  };
}

async function expectNothing(...clients: TestClient[]): Promise<void> {
  await Promise.all(
    clients.map((client) => assert.rejects(client.next(200), /no message/)),
  );
}

for (const order of ["sender", "total"] as const) {
  Deno.test({
    name:
      `a cluster of two processes on Redis, rooms in ${order} order: rooms, ${
        order === "total" ? "one order for every member" : "per-sender order"
      }, users, sockets, counts, a Redis restart, garbage, and one process stopping`,
    ignore: !run,
    fn: async () => {
      const redis = await startRedis();
      const prefix = "cluster";
      const [a, b] = await Promise.all([
        startNode(redis.url, prefix, order),
        startNode(redis.url, prefix, order),
      ]);
      const clients: TestClient[] = [];
      const open = async (url: string, query: string) => {
        const client = await TestClient.open(`${url}?${query}`);
        clients.push(client);
        return client;
      };
      let bStopped = false;
      try {
        const a1 = await open(a.url, "room=lobby&user=ada");
        const a2 = await open(a.url, "room=lobby");
        const b1 = await open(b.url, "room=lobby&user=ada");
        const b2 = await open(b.url, "room=lobby&user=bob");
        const b3 = await open(b.url, "room=elsewhere");
        const lobby = [a1, a2, b1, b2];

        // Presence: every process sees the four members of the lobby.
        const count = async (client: TestClient) => {
          client.ws.send("#count");
          return String(await client.next());
        };
        for (const client of [a1, b2]) {
          let answer = "";
          const deadline = Date.now() + 5_000;
          while ((answer = await count(client)) !== "count 4") {
            if (Date.now() > deadline) assert.fail(`counted ${answer}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }

        // Two senders in two processes, 10,000 messages each: every member
        // gets all 20,000 once, each sender's in order.
        const perSender = 50_000;
        for (let i = 1; i <= perSender; i++) {
          a1.ws.send(`a1 ${i}`);
          b2.ws.send(`b2 ${i}`);
        }
        const orders = await Promise.all(lobby.map(async (client) => {
          const last: Record<string, number> = { a1: 0, b2: 0 };
          // The senders' interleaving as this member saw it.
          const sequence = new Uint8Array(2 * perSender);
          for (let i = 0; i < 2 * perSender; i++) {
            const got = await client.next(30_000).catch(() => {
              throw new Error(
                `member ${lobby.indexOf(client)} got ${i} messages, last ${
                  JSON.stringify(last)
                }, state ${client.ws.readyState}; process a printed:\n${a.output()}process b printed:\n${b.output()}`,
              );
            });
            const [sender, n] = String(got).split(" ");
            assert.equal(Number(n), last[sender!]! + 1, `${sender} reordered`);
            last[sender!] = Number(n);
            sequence[i] = sender === "a1" ? 1 : 2;
          }
          assert.deepEqual(last, { a1: perSender, b2: perSender });
          return sequence;
        }));
        if (order === "total") {
          // Compared by hand: a diff of two long sequences takes forever.
          orders.forEach((sequence, member) => {
            const at = sequence.findIndex((sender, i) =>
              sender !== orders[0]![i]
            );
            assert.equal(
              at,
              -1,
              `member ${member} saw another order from ${at}`,
            );
          });
        }
        await expectNothing(...lobby, b3);

        // One user with a socket in each process; one socket by its id.
        a2.ws.send("@user:ada for ada");
        assert.equal(await a1.next(), "for ada");
        assert.equal(await b1.next(), "for ada");
        b3.ws.send("#id");
        const id = String(await b3.next()).slice(3);
        a1.ws.send(`@socket:${id} for b3`);
        assert.equal(await b3.next(), "for b3");
        await expectNothing(...lobby, b3);

        // Garbage on the lobby's channel is dropped; delivery goes on.
        const admin = createClient({ url: redis.url });
        admin.on("error", () => {});
        await admin.connect();
        await admin.publish(`socketry:${prefix}:room:lobby`, "garbage!");
        admin.destroy();
        a1.ws.send("after garbage");
        for (const client of lobby) {
          assert.equal(await client.next(), "after garbage");
        }

        // Redis stops: local delivery goes on, the other process misses it.
        await redis.stop(true);
        await Promise.all([
          a.printed("backplane down"),
          b.printed("backplane down"),
        ]);
        a1.ws.send("during the outage");
        assert.equal(await a1.next(), "during the outage");
        assert.equal(await a2.next(), "during the outage");
        await redis.start();
        const restarted = performance.now();
        // Back within 5 s without anyone doing anything: probe until it flows.
        let probes = 0;
        for (;;) {
          a1.ws.send(`probe ${++probes}`);
          const got = await b2.next(100).catch(() => undefined);
          if (got !== undefined) {
            assert.match(String(got), /^probe \d+$/);
            break;
          }
          assert.ok(
            performance.now() - restarted < 5_000,
            "not back within 5 s",
          );
        }
        console.log(
          `delivery across processes back ${
            (performance.now() - restarted).toFixed(0)
          } ms after Redis restarted`,
        );
        // b's members saw neither the outage's message nor any probe twice.
        const seen = new Set<string>();
        for (const client of [b1, b2]) {
          for (;;) {
            const got = await client.next(300).catch(() => undefined);
            if (got === undefined) break;
            assert.ok(!seen.has(`${clients.indexOf(client)} ${got}`));
            seen.add(`${clients.indexOf(client)} ${got}`);
            assert.notEqual(got, "during the outage");
          }
        }
        for (const client of [a1, a2]) {
          while (await client.next(300).catch(() => undefined) !== undefined);
        }

        // b stops: its clients are closed with 1001, a goes on and counts 2.
        assert.equal(await b.stop(), 0);
        bStopped = true;
        for (const client of [b1, b2, b3]) {
          assert.equal((await client.closed).code, 1001);
        }
        a2.ws.send("still here");
        assert.equal(await a1.next(), "still here");
        assert.equal(await a2.next(), "still here");
        assert.equal(await count(a1), "count 2");
      } finally {
        await Promise.all(clients.map((client) => client.close()));
        await Promise.all([a.stop(), bStopped ? 0 : b.stop()]);
        await redis.stop();
      }
    },
  });
}
