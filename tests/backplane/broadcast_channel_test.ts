import assert from "node:assert/strict";
import {
  BroadcastChannelBackplane,
  type BroadcastChannelBackplaneOptions,
} from "../../lib/backplane/broadcast_channel.ts";
import type { BackplaneEvent } from "../../lib/backplane/backplane.ts";
import { encodeEnvelope } from "../../lib/backplane/envelope.ts";
import type { WorkerCommand, WorkerReply } from "./broadcast_worker.ts";

type Arrival = Extract<WorkerReply, { op: "report" }>["arrived"][number];

interface TestWorker {
  readonly id: string;
  send(command: WorkerCommand): Promise<WorkerReply>;
  /** Collects arrivals until `count` came, then waits `settle` ms for extras. */
  collect(count: number, settle?: number): Promise<Arrival[]>;
  stats(): Promise<Extract<WorkerReply, { op: "report" }>["stats"]>;
  close(): Promise<void>;
}

async function spawn(
  channel: string,
  totalOrder = false,
): Promise<TestWorker> {
  const worker = new Worker(
    new URL("./broadcast_worker.ts", import.meta.url),
    { type: "module" },
  );
  const waiting: ((reply: WorkerReply) => void)[] = [];
  worker.onmessage = (event: MessageEvent<WorkerReply>) =>
    waiting.shift()!(event.data);
  const send = (command: WorkerCommand) =>
    new Promise<WorkerReply>((resolve) => {
      waiting.push(resolve);
      worker.postMessage(command);
    });
  const report = async () => {
    const reply = await send({ op: "report" });
    assert.equal(reply.op, "report");
    return reply;
  };
  const started = await send({ op: "start", channel, totalOrder });
  assert.equal(started.op, "started");
  return {
    id: started.id,
    send,
    async collect(count, settle = 100) {
      const all: Arrival[] = [];
      const deadline = Date.now() + 10_000;
      while (all.length < count && Date.now() < deadline) {
        all.push(...(await report()).arrived);
        if (all.length < count) await delay(5);
      }
      await delay(settle);
      all.push(...(await report()).arrived);
      return all;
    },
    async stats() {
      return (await report()).stats;
    },
    async close() {
      await send({ op: "close" });
      worker.terminate();
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const lobby = { kind: "room", name: "lobby" } as const;

Deno.test("BroadcastChannel backplane: 10,000 messages from one worker reach the other once each and in order; the publisher gets none of its own; unsubscribed targets are not delivered", async () => {
  const channel = `bc-test-${crypto.randomUUID()}`;
  const [a, b] = await Promise.all([spawn(channel), spawn(channel)]);
  try {
    assert.notEqual(a.id, b.id);
    await a.send({ op: "subscribe", target: lobby });
    await b.send({ op: "subscribe", target: lobby });
    await a.send({ op: "publish", target: lobby, count: 10_000 });
    await a.send({
      op: "publish",
      target: { kind: "room", name: "elsewhere" },
      count: 50,
    });
    const arrived = await b.collect(10_000);
    assert.equal(arrived.length, 10_000);
    arrived.forEach((message, i) => {
      assert.equal(message.origin, a.id);
      assert.equal(message.target, "room:lobby");
      assert.equal(message.data, `m${i + 1}`);
      assert.equal(message.seq, i + 1);
    });
    assert.deepEqual(await a.collect(0), [], "the publisher got its own");
    const [aStats, bStats] = [await a.stats(), await b.stats()];
    assert.equal(aStats.published, 10_050);
    assert.equal(aStats.received, 0);
    assert.equal(bStats.received, 10_000);
    assert.equal(bStats.malformed, 0);

    // After unsubscribing, b keeps nothing more for the room.
    await b.send({ op: "unsubscribe", target: lobby });
    await a.send({ op: "publish", target: lobby, count: 10, binary: true });
    assert.deepEqual(await b.collect(0, 200), []);
    await b.send({ op: "subscribe", target: lobby });
    await a.send({ op: "publish", target: lobby, count: 2, binary: true });
    assert.deepEqual(
      (await b.collect(2)).map((message) => message.data),
      ["bytes:1", "bytes:2"],
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("BroadcastChannel backplane: garbage posted on the channel is dropped, counted and reported, and delivery goes on", async () => {
  const channel = `bc-test-${crypto.randomUUID()}`;
  const worker = await spawn(channel);
  const local = new BroadcastChannelBackplane({ channel });
  const events: BackplaneEvent[] = [];
  local.onEvent((event) => events.push(event));
  const raw = new BroadcastChannel(`socketry:${channel}`);
  try {
    local.subscribe(lobby);
    const arrived: unknown[] = [];
    local.onMessage((envelope) => arrived.push(envelope.data));
    raw.postMessage("not bytes at all");
    raw.postMessage(
      new TextEncoder().encode("garbage, long enough for a header"),
    );
    raw.postMessage({ origin: "x", seq: 1 });
    // Well-formed envelopes for the room on top of the garbage: 2 and 3
    // of "raw" are missing (counted as lost), 4 comes again (dropped).
    const fromRaw = (seq: number) =>
      encodeEnvelope({ origin: "raw", seq, target: lobby, data: `raw${seq}` });
    raw.postMessage(fromRaw(1));
    raw.postMessage([fromRaw(4), fromRaw(4)]);
    await worker.send({ op: "publish", target: lobby, count: 1 });
    const deadline = Date.now() + 5_000;
    while (arrived.length < 3 && Date.now() < deadline) await delay(5);
    await delay(50);
    assert.deepEqual(arrived, ["raw1", "raw4", "m1"]);
    assert.equal(local.stats.malformed, 4);
    assert.equal(local.stats.received, 3);
    assert.equal(local.stats.lost, 2);
    const reasons = events.flatMap((event) =>
      event.type === "malformed" ? [event.reason] : []
    );
    assert.deepEqual(reasons, [
      "not bytes",
      "not an envelope (bad magic)",
      "not bytes",
      "a sequence number seen before",
    ]);
    assert.deepEqual(
      events.filter((event) => event.type === "lost"),
      [{ type: "lost", origin: "raw", count: 2 }],
    );
  } finally {
    raw.close();
    await local.close();
    await worker.close();
  }
});

Deno.test("BroadcastChannel backplane: publishing after close fails, is counted and reported; a bad room name throws", async () => {
  const backplane = new BroadcastChannelBackplane();
  const events: BackplaneEvent[] = [];
  backplane.onEvent((event) => events.push(event));
  assert.equal(backplane.state, "ready");
  assert.equal(await backplane.publish({ target: lobby, data: "x" }), true);
  assert.throws(() =>
    backplane.publish({ target: { kind: "room", name: "" }, data: "x" })
  );
  assert.throws(() => backplane.subscribe({ kind: "room", name: "a\nb" }));
  const misspelt: Record<string, unknown> = { chanel: "rooms" };
  assert.throws(
    () =>
      new BroadcastChannelBackplane(
        misspelt as BroadcastChannelBackplaneOptions,
      ),
    /^TypeError: Unknown option "chanel": did you mean "channel"\?$/,
  );
  await backplane.close();
  assert.equal(backplane.state, "down");
  assert.equal(await backplane.publish({ target: lobby, data: "x" }), false);
  assert.deepEqual(backplane.stats, {
    published: 1,
    publishFailures: 1,
    received: 0,
    malformed: 0,
    lost: 0,
    subscriptions: 0,
    publishLatency: 0,
  });
  assert.deepEqual(events.map((event) => event.type), [
    "state",
    "publishFailed",
  ]);
});

Deno.test("BroadcastChannel backplane with totalOrder: two workers publishing at once see the same sequence, each its own publications in their place, once each", async () => {
  const channel = `bc-test-${crypto.randomUUID()}`;
  const [a, b] = await Promise.all([
    spawn(channel, true),
    spawn(channel, true),
  ]);
  try {
    await Promise.all([
      a.send({ op: "subscribe", target: lobby }),
      b.send({ op: "subscribe", target: lobby }),
    ]);
    const sent: Promise<WorkerReply>[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (const worker of [a, b]) {
        sent.push(worker.send({
          op: "publish",
          target: lobby,
          count: 25,
          from: 25 * turn + 1,
          echo: true,
        }));
      }
    }
    await Promise.all(sent);
    const [atA, atB] = await Promise.all([a.collect(1000), b.collect(1000)]);
    const order = (arrivals: Arrival[]) =>
      arrivals.map(({ origin, data }) => `${origin} ${data}`);
    assert.equal(atA.length, 1000);
    assert.deepEqual(order(atA), order(atB));
    assert.equal(new Set(order(atA)).size, 1000);
    // Each one's own publications came back as echoes, the others' as messages.
    assert.equal(atA.filter(({ target }) => target === "echo").length, 500);
    assert.ok(
      atA.every(({ origin, target }) =>
        (origin === a.id) === (target === "echo")
      ),
    );
    for (const stats of [await a.stats(), await b.stats()]) {
      assert.equal(stats.received, 500);
      assert.equal(stats.lost, 0);
      assert.equal(stats.malformed, 0);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
