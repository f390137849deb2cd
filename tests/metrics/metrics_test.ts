/** Metrics: the registry, the Prometheus text (judged by promtool), and what servers count. */

import assert from "node:assert/strict";
import {
  BroadcastChannelBackplane,
  connect,
  Metrics,
  metricsHandler,
  prometheusText,
  serveEngine,
  ServerMetrics,
  type Socket,
  SocketProcessor,
  webSockets,
  type WebSocketServerOptions,
} from "../../mod.ts";
import { waitFor } from "../helpers/client.ts";
import { handshakeRequest, rawHttp, rawWebSocket } from "../helpers/raw.ts";
import { hasPromtool, promtoolCheck } from "../helpers/promtool.ts";

const promtool = hasPromtool();

Deno.test("prometheusText writes HELP, TYPE and escaped series", () => {
  const metrics = new Metrics();
  const jobs = metrics.counter("jobs_total", "Jobs done.\nBy queue \\ kind.");
  jobs.inc({ queue: 'mail "fast"\n' }, 2);
  jobs.inc({ queue: "mail" });
  jobs.inc({ queue: "mail" });
  const depth = metrics.gauge("queue_depth", "Waiting jobs.");
  depth.set({}, 5);
  depth.inc({}, -2);
  assert.equal(
    prometheusText(metrics.read()),
    [
      "# HELP jobs_total Jobs done.\\nBy queue \\\\ kind.",
      "# TYPE jobs_total counter",
      'jobs_total{queue="mail \\"fast\\"\\n"} 2',
      'jobs_total{queue="mail"} 2',
      "# HELP queue_depth Waiting jobs.",
      "# TYPE queue_depth gauge",
      "queue_depth 3",
      "",
    ].join("\n"),
  );
  assert.equal(jobs.get({ queue: "mail" }), 2);
  assert.equal(metrics.counter("jobs_total", "again"), jobs);
  assert.throws(() => metrics.gauge("jobs_total", "x"), /already a counter/);
  assert.throws(() => jobs.inc({}, -1), RangeError);
  assert.throws(() => metrics.counter("bad-name", "x"), /Invalid metric name/);
  assert.throws(() => jobs.inc({ "bad-label": "x" }), /Invalid label name/);
});

Deno.test({
  name: "promtool accepts the text and rejects what breaks its rules",
  ignore: !promtool,
  fn: async () => {
    const metrics = new Metrics();
    metrics.counter("jobs_total", 'Jobs "done".').inc({ q: 'a"\\\nb' });
    metrics.gauge("temperature_celsius", "Heat.").set({}, -Infinity);
    assert.deepEqual(await promtoolCheck(prometheusText(metrics.read())), {
      code: 0,
      output: "",
    });
    const bad = new Metrics();
    bad.counter("jobs", "A counter without _total.").inc();
    const judged = await promtoolCheck(prometheusText(bad.read()));
    assert.notEqual(judged.code, 0);
    assert.match(judged.output, /_total/);
  },
});

type Start = (
  options: WebSocketServerOptions,
  onSocket: (socket: Socket) => void,
  scrape: (request: Request) => Response,
) => Promise<{ port: number; close(): Promise<void> }>;

const backends: [string, Start][] = [
  ["native", (options, onSocket, scrape) => {
    const { promise, resolve } = Promise.withResolvers<
      { port: number; close(): Promise<void> }
    >();
    const server = Deno.serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        onListen: ({ port }) =>
          resolve({ port, close: () => server.shutdown() }),
      },
      webSockets({ path: "/ws", ...options }, onSocket, scrape),
    );
    return promise;
  }],
  ["engine", async (options, onSocket, scrape) => {
    const server = serveEngine(
      { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
      onSocket,
      scrape,
    );
    const { port } = await server.listening;
    return { port, close: () => server.shutdown() };
  }],
];

for (const [backend, start] of backends) {
  Deno.test(`${backend}: a server counts handshakes, traffic and closes, and /metrics passes promtool`, async () => {
    const metrics = new ServerMetrics();
    const backplane = new BroadcastChannelBackplane({
      channel: `metrics-test-${backend}`,
    });
    metrics.watchBackplane(backplane);
    const scrape = metricsHandler(metrics);
    const server = await start(
      { metrics, allowedOrigins: ["https://good.example"] },
      (socket) => {
        socket.addEventListener("message", ({ data }) => {
          if (data === "bye") socket.close(4001, "asked");
          else socket.send(data).catch(() => {});
        });
      },
      scrape,
    );
    const url = `ws://127.0.0.1:${server.port}/ws`;
    const origin = await rawHttp(
      server.port,
      handshakeRequest("/ws", ["Origin: https://evil.example"]),
    );
    assert.equal(origin.status, 403);
    const version = await rawHttp(
      server.port,
      handshakeRequest("/ws").replace("Version: 13", "Version: 8"),
    );
    assert.equal(version.status, 426);

    const first = await connect(url);
    const second = await connect(url);
    await waitFor(() => metrics.snapshot().connectionsOpen === 2);
    for (const text of ["abc", "defgh"]) {
      await first.send(text);
      assert.equal(await first.receive().then(() => "got"), "got");
    }
    // Traffic of open sockets counts already.
    const live = metrics.snapshot();
    assert.equal(live.messagesReceived, 2);
    assert.equal(live.bytesReceived, 8);
    assert.equal(live.messagesSent, 2);
    assert.equal(live.bytesSent, 8);

    await first.close(1000, "done");
    await second.send("bye");
    assert.equal((await second.closed).code, 4001);
    await waitFor(() => metrics.snapshot().connectionsOpen === 0);
    const snapshot = metrics.snapshot();
    assert.deepEqual(snapshot, {
      connectionsOpen: 0,
      handshakesAccepted: 2,
      handshakesRefused: { origin: 1, handshake: 1 },
      messagesReceived: 3,
      messagesSent: 2,
      bytesReceived: 11,
      bytesSent: 8,
      closes: { "1000 close": 1, "4001 close": 1 },
      sendQueueDrops: 0,
      messagesDropped: 0,
      limitHits: {},
      backplane: backplane.state,
      groups: undefined,
    });

    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^socketry_connections_open 0$/m);
    assert.match(text, /^socketry_handshakes_accepted_total 2$/m);
    assert.match(
      text,
      /^socketry_handshakes_refused_total\{reason="origin",status="403"\} 1$/m,
    );
    assert.match(
      text,
      /^socketry_closes_total\{code="4001",ending="close"\} 1$/m,
    );
    assert.match(text, /^socketry_received_bytes_total 11$/m);
    assert.match(
      text,
      new RegExp(
        `^socketry_backplane_state\\{state="${backplane.state}"\\} 1$`,
        "m",
      ),
    );
    assert.match(text, /^socketry_backplane_subscriptions 0$/m);
    assert.match(text, /^socketry_backplane_publish_latency_seconds 0$/m);
    assert.doesNotMatch(text, /socketry_groups/, "no processor was watched");
    if (promtool) {
      assert.deepEqual(await promtoolCheck(text), { code: 0, output: "" });
    }
    const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
      method: "POST",
    });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    await backplane.close();
    await server.close();
  });
}

Deno.test("engine: a processor with metrics counts each broadcast a full send queue refused", async () => {
  const metrics = new ServerMetrics();
  const processor = new SocketProcessor({ metrics, slowConsumer: "skip" });
  const accepted = Promise.withResolvers<Socket>();
  const server = serveEngine(
    {
      port: 0,
      hostname: "127.0.0.1",
      path: "/ws",
      metrics,
      maxBufferedAmount: 64 * 1024,
      sendHighWaterMark: 16 * 1024,
    },
    (socket) => {
      accepted.resolve(socket);
      return processor.add(socket);
    },
  );
  const { port } = await server.listening;
  const stalled = await rawWebSocket(port); // reads nothing
  const socket = await accepted.promise;
  await waitFor(() => socket.state === "open");
  processor.join(socket, "room");
  const message = "x".repeat(16 * 1024);
  let failed = 0;
  for (let i = 0; i < 400; i++) {
    failed += (await processor.sendToGroup("room", message)).failed;
  }
  assert.ok(failed > 0, "the stalled reader's queue filled up");
  assert.equal(metrics.snapshot().sendQueueDrops, failed);
  assert.equal(socket.state, "open", "skipped, not closed");
  stalled.close();
  await processor.shutdown({ timeout: 1000 });
  await server.shutdown();
});

Deno.test("processors given metrics report their groups, summed, as sockets join and leave", async () => {
  const metrics = new ServerMetrics();
  const first = new SocketProcessor({ metrics });
  const second = new SocketProcessor({ metrics });
  const accepted: Socket[] = [];
  const server = serveEngine(
    { port: 0, hostname: "127.0.0.1", path: "/ws" },
    (socket) => {
      accepted.push(socket);
      return (accepted.length === 1 ? first : second).add(socket);
    },
  );
  const { port } = await server.listening;
  const url = `ws://127.0.0.1:${port}/ws`;
  const clients = [await connect(url), await connect(url)];
  await waitFor(() => accepted.length === 2);
  const [a, b] = accepted as [Socket, Socket];
  const groups = () => metrics.snapshot().groups;
  const text = () => prometheusText(metrics.read());
  assert.equal(groups(), 0);
  assert.match(text(), /^socketry_groups 0$/m);
  first.join(a, "lobby");
  first.join(a, "news");
  second.join(b, "lobby");
  assert.equal(groups(), 3, "two groups in one processor, one in the other");
  assert.match(text(), /^socketry_groups 3$/m);
  first.leave(a, "news");
  assert.equal(groups(), 2);
  await clients[1]!.close();
  await waitFor(() => groups() === 1, 5000, "b's group emptied as it closed");
  if (promtool) {
    assert.deepEqual(await promtoolCheck(text()), { code: 0, output: "" });
  }
  await clients[0]!.close();
  await first.shutdown({ timeout: 1000 });
  await second.shutdown({ timeout: 1000 });
  assert.equal(groups(), undefined, "shut-down processors are let go");
  assert.doesNotMatch(text(), /socketry_groups/);
  await server.shutdown();
});
