/**
 * Fan-out: every receiver in one room, one publisher (itself a member) with
 * 4 messages in flight, 64-byte numbered and timestamped text messages.
 * Each server runs pinned to CPU 0 (`taskset`), this generator should run
 * on CPU 1; servers take turns, one at a time.
 *
 *     taskset -c 1 deno run -A bench/fanout.ts [--receivers 1000,10000]
 *         [--seconds 5] [--servers chat-native,chat-engine,deno,ws,bun]
 *         [--bun PATH] [--workers N] [--server-cpus 0] [--rounds 1]
 *         [--rate N] [--redis [--redis-server PATH] [--room-order total,sender]]
 *
 * `--workers N` runs the native chat as N isolates on one port (its own
 * `--workers`, rooms shared through `BroadcastChannel`); give it the cores
 * with `--server-cpus` (a `taskset` list, `0-1`) to compare `--workers 2`
 * with `--workers 1`. `--room-order` chooses their `--room-order` too
 * (`total,sender`: both, in turns).
 *
 * `--redis` compares, for each chat server chosen (`--servers`, default
 * `chat-native`), TWO chat processes sharing the room through a Redis of
 * this script's own (`redis-server` on a free loopback port, no
 * persistence; `--redis-server PATH`, Debian's `/usr/bin/redis-server` by
 * default) with ONE chat process without Redis, in turns alternated each
 * round (`--rounds`). The receivers alternate between the two processes,
 * the publisher is on the first; both chats and Redis run on
 * `--server-cpus`, so the two setups get the same cores. Besides the
 * figures below it reports the CPU time of the chats, of Redis and of this
 * generator during the window (`/proc`), what the chats' backplanes counted
 * (`socketry_backplane_*` of their `GET /metrics`), and the ratio
 * cross-process / single-process of deliveries per second, round by round,
 * and of server CPU time (chats + Redis) per delivery. `--room-order`
 * chooses the two chats' `--room-order` (`total`, their default: every
 * message goes through Redis, local members included; `sender`: local
 * members served at once); with `total,sender` both setups run in turns,
 * each compared with the one chat, and the report adds total / sender.
 *
 * `--rate N` publishes N messages a second on a clock instead of keeping 4
 * in flight: latency below saturation (at saturation it is mostly queueing).
 *
 * Servers: `examples/chat/main.ts` on both backends (room `lobby`),
 * `bench/servers/fanout_deno.ts` (raw `Deno.upgradeWebSocket`, a loop over
 * its sockets), `bench/servers/fanout_ws.mjs` (Node `ws`, a loop over
 * `wss.clients`) and `bench/servers/fanout_bun.ts` (`server.publish`; run
 * when a `bun` binary is found: `--bun`, `node_modules/.bin/bun` or the
 * PATH, and skipped otherwise). Every server includes the sender.
 *
 * The receivers are raw RFC 6455 clients over `Deno.connect`. Before the
 * window the publisher repeats a warm-up message until every receiver got
 * one (so every join, and every backplane subscription, has landed). Each
 * receiver checks that it gets every message once and in order (`lost`,
 * `reordered` count what it did not), and times each delivery from the
 * moment the publisher wrote it (one clock: one process). Reported per
 * server and room size: deliveries per second, p50/p99 delivery latency,
 * the share of messages that reached every member within 250 ms (the
 * method of hashrocket's websocket-shootout), the server's responsiveness
 * during the storm (p99 time to answer a plain HTTP request sent every
 * 50 ms: event-loop lag, plus one loopback round trip), and the CPU used
 * by this generator, the servers and the rest of the machine (in % of one
 * core; a generator near 100% is the bottleneck). Then ratios against
 * `ws`, raw Deno and Bun.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  benchFile,
  findBun,
  type Listening,
  measureThenStopAll,
  pinned,
  positive,
  startListening,
  stopAllOnSignal,
  stopChild,
} from "./helpers/children.ts";
import { cpuSeconds, machineCpuSeconds } from "./helpers/cpu.ts";
import { clientFrame, handshake, writeAll } from "./helpers/raw_client.ts";
import {
  checkRedisServer,
  type CommandStats,
  commandStats,
  REDIS_SERVER,
  startBenchRedis,
} from "./helpers/redis_server.ts";
import { measureInTurns, pairedRatios } from "./helpers/rounds.ts";
import { knownMedian, median } from "./helpers/stats.ts";
import { table } from "./helpers/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    receivers: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    servers: { type: "string" },
    bun: { type: "string" },
    workers: { type: "string" },
    "server-cpus": { type: "string", default: "0" },
    rounds: { type: "string", default: "1" },
    rate: { type: "string" },
    redis: { type: "boolean", default: false },
    "redis-server": { type: "string", default: REDIS_SERVER },
    "room-order": { type: "string", default: "total" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(`taskset -c 1 deno run -A bench/fanout.ts [flags]
  --receivers 1000,10000   room sizes (each includes the publisher)
  --seconds 5              publishing time per turn
  --servers LIST           chat-native,chat-engine,deno,ws,bun (default all;
                           with --redis: chat-native)
  --bun PATH               the bun binary for the bun server
  --workers N              the native chat as N isolates on one port
  --server-cpus 0          taskset CPU list of the servers (and of Redis)
  --rounds 1               turns per server, the order rotated each round
  --rate N                 N messages a second instead of 4 in flight
  --redis                  2 chat processes on a Redis of their own against
                           1 chat process, receivers split across the two
  --redis-server PATH      the redis-server binary (${REDIS_SERVER})
  --room-order LIST        with --redis or --workers: the chats'
                           --room-order, total (default), sender, or
                           total,sender to compare`);
  Deno.exit(0);
}
const ROOM_SIZES = values.receivers.split(",").map((size) =>
  positive("receivers", size)
);
const SECONDS = positive("seconds", values.seconds, false);
type RoomOrder = "total" | "sender";
const ROOM_ORDERS = [...new Set(values["room-order"].split(","))].map(
  (order): RoomOrder => {
    if (order === "total" || order === "sender") return order;
    console.error(`--room-order takes total and sender, not ${order}`);
    Deno.exit(2);
  },
);
const ROUNDS = positive("rounds", values.rounds);
const RATE = values.rate === undefined
  ? undefined
  : positive("rate", values.rate, false);
const SERVER_CPUS = values["server-cpus"];
const IN_FLIGHT = 4;
const MESSAGE_BYTES = 64;
const WITHIN_MS = 250;
/** Warm-up messages start with this byte ("w"); numbered ones with a digit. */
const WARM_UP = 0x77;

/** A server setup: one process or several, each printing `Listening on`. */
interface Setup {
  readonly key: string;
  readonly label: string;
  /** Starts it; a string says why it could not. */
  readonly start: () => Promise<Started | string>;
}

/** A running setup. */
interface Started {
  /** Where receivers connect, in turn; the publisher on the first. */
  readonly origins: readonly string[];
  /** The servers' processes (their CPU time is read). */
  readonly serverPids: readonly number[];
  /** Redis' process and URL, when there is one. */
  readonly redis?: { readonly pid: number; readonly url: string };
  /** Whether the servers have a backplane to scrape from `/metrics`. */
  readonly backplane: boolean;
  stop(): Promise<void>;
}

const deno = Deno.execPath();

function chatCommand(
  backend: "native" | "engine",
  extra: readonly string[] = [],
): [string, string[]] {
  return [deno, [
    "run",
    "-A",
    benchFile("../examples/chat/main.ts"),
    "--hostname",
    "127.0.0.1",
    "--port",
    "0",
    ...(backend === "engine" ? ["--backend", "engine"] : []),
    ...(backend === "native" && values.workers !== undefined
      ? ["--workers", values.workers]
      : []),
    ...extra,
  ]];
}

/** Starts one server pinned to the server CPUs. */
function listen(command: [string, string[]]): Promise<Listening> {
  const [program, args] = pinned(command, SERVER_CPUS);
  return startListening(
    program,
    args,
    (line) => /^Listening on (http:\/\/\S+)/.exec(line)?.[1],
  );
}

/** A setup of one server process. */
function single(
  key: string,
  label: string,
  command: () => [string, string[]] | undefined,
  backplane = false,
): Setup {
  return {
    key,
    label,
    start: async () => {
      const chosen = command();
      if (chosen === undefined) return "not found";
      const listening = await listen(chosen);
      if (listening.url === null) {
        return `${listening.failure}: ${listening.output.join(" | ")}`;
      }
      return {
        origins: [listening.url],
        serverPids: [listening.child.pid],
        backplane,
        stop: () => stopChild(listening.child, "SIGTERM", 5_000),
      };
    },
  };
}

/** Two chat processes on a Redis of their own, rooms in `order`. */
function overRedis(backend: "native" | "engine", order: RoomOrder): Setup {
  return {
    key: `chat-${backend}`,
    label: `2 chats + Redis, ${backend}${
      order === "total" ? "" : `, ${order} order`
    }`,
    start: async () => {
      const redis = await startBenchRedis(values["redis-server"], SERVER_CPUS);
      const chats = await Promise.all(
        [0, 1].map(() =>
          listen(
            chatCommand(backend, ["--redis", redis.url, "--room-order", order]),
          )
        ),
      );
      const stop = async () => {
        await Promise.all(
          chats.map((chat) => stopChild(chat.child, "SIGTERM", 5_000)),
        );
        await redis.stop();
      };
      const failed = chats.find((chat) => chat.url === null);
      if (failed !== undefined && failed.url === null) {
        await stop();
        return `${failed.failure}: ${failed.output.join(" | ")}`;
      }
      return {
        origins: chats.map((chat) => chat.url!),
        serverPids: chats.map((chat) => chat.child.pid),
        redis: { pid: redis.pid, url: redis.url },
        backplane: true,
        stop,
      };
    },
  };
}

const SERVERS: Setup[] = [
  ...(values.workers === undefined
    ? [
      single(
        "chat-native",
        "socketry chat, native",
        () => chatCommand("native"),
      ),
    ]
    : ROOM_ORDERS.map((order) =>
      single(
        "chat-native",
        `socketry chat, native, ${values.workers} worker(s)${
          order === "total" ? "" : `, ${order} order`
        }`,
        () => chatCommand("native", ["--room-order", order]),
      )
    )),
  single(
    "chat-engine",
    "socketry chat, engine",
    () => chatCommand("engine"),
  ),
  single("deno", "raw Deno loop", () => [deno, [
    "run",
    "--allow-net",
    benchFile("servers/fanout_deno.ts"),
    "--port",
    "0",
  ]]),
  single(
    "ws",
    "Node ws loop",
    () => ["node", [benchFile("servers/fanout_ws.mjs"), "0"]],
  ),
  single("bun", "Bun server.publish", () => {
    const bun = findBun(values.bun);
    return bun === undefined
      ? undefined
      : [bun, [benchFile("servers/fanout_bun.ts"), "0"]];
  }),
];

/** The backplane counters of the chats' `/metrics` over a window. */
interface BackplaneCounts {
  readonly published: number;
  readonly received: number;
  readonly publishFailures: number;
  readonly malformed: number;
  readonly lost: number;
}

/** What one room size on one setup gave, in one round. */
interface Result {
  readonly key: string;
  readonly server: string;
  readonly round: number;
  /** Whether it ran over Redis. */
  readonly overRedis: boolean;
  readonly receivers: number;
  readonly published: number;
  readonly deliveries: number;
  readonly perSecond: number;
  readonly lost: number;
  readonly reordered: number;
  readonly p50: number;
  readonly p99: number;
  /** p50 and p99 of the receivers on each server process. */
  readonly perServer: readonly { p50: number; p99: number }[];
  readonly within250: number;
  readonly httpP99: number;
  /** From the first message sent to the end of the turn, in seconds. */
  readonly windowSeconds: number;
  /** CPU used during the window, in % of one core; null: unknown. */
  readonly generatorCpu: number | null;
  readonly serverCpu: number | null;
  /** Each server process's share, in the order of `origins`. */
  readonly serverCpus: readonly (number | null)[];
  readonly redisCpu: number | null;
  /** Redis' own count of PUBLISH during the window. */
  readonly publishes: CommandStats | null;
  readonly otherCpu: number | null;
  readonly backplane: BackplaneCounts | null;
  /** The machine's 1-minute load average at the end of the turn. */
  readonly load: string;
}

/** Delivery latencies in 0.1 ms bins up to 10 s. */
class Histogram {
  readonly #bins = new Uint32Array(100_001);
  count = 0;
  add(ms: number): void {
    this.#bins[Math.min(100_000, Math.max(0, Math.round(ms * 10)))]!++;
    this.count++;
  }
  percentile(p: number): number {
    const target = Math.ceil(this.count * p);
    let seen = 0;
    for (let i = 0; i < this.#bins.length; i++) {
      seen += this.#bins[i]!;
      if (seen >= target && target > 0) return i / 10;
    }
    return NaN;
  }
}

/** The run-wide state every receiver reports into. */
class Run {
  readonly histogram = new Histogram();
  /** The same, per server process the receivers are on. */
  readonly byServer: Histogram[];
  /** Send time of message n (performance.now()). */
  readonly sentAt: number[] = [];
  /** How many members got message n, and when the last one did. */
  readonly reached: number[] = [];
  readonly lastAt: number[] = [];
  deliveries = 0;
  lost = 0;
  reordered = 0;
  /** Receivers that got a warm-up message. */
  warmed = 0;
  onOwn: ((seq: number) => void) | undefined;

  constructor(servers: number) {
    this.byServer = Array.from({ length: servers }, () => new Histogram());
  }
}

const decoder = new TextDecoder();

/** One member: reads and checks server frames (unmasked, text, < 126 bytes). */
class Receiver {
  readonly conn: Deno.TcpConn;
  /** Which server process it is on (an index into the origins). */
  readonly server: number;
  next = 0;
  warmed = false;
  #pending = new Uint8Array(0);

  constructor(conn: Deno.TcpConn, server: number) {
    this.conn = conn;
    this.server = server;
  }

  async read(run: Run, own: boolean): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await this.conn.read(buffer);
      } catch {
        return;
      }
      if (n === null) return;
      const now = performance.now();
      let bytes = buffer.subarray(0, n);
      if (this.#pending.byteLength > 0) {
        const joined = new Uint8Array(this.#pending.byteLength + n);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.byteLength);
        bytes = joined;
      }
      let offset = 0;
      while (offset + 2 <= bytes.byteLength) {
        const length = bytes[offset + 1]! & 0x7f;
        if (length >= 126) throw new Error("unexpected large frame");
        if (offset + 2 + length > bytes.byteLength) break;
        const opcode = bytes[offset]! & 0x0f;
        if (opcode === 0x1 && bytes[offset + 2] === WARM_UP) {
          if (!this.warmed) run.warmed++;
          this.warmed = true;
        } else if (opcode === 0x1) {
          const text = decoder.decode(
            bytes.subarray(offset + 2, offset + 2 + length),
          );
          this.#deliver(
            run,
            Number(text.slice(0, text.indexOf(" "))),
            now,
            own,
          );
        }
        offset += 2 + length;
      }
      this.#pending = bytes.slice(offset);
    }
  }

  #deliver(run: Run, seq: number, now: number, own: boolean): void {
    run.deliveries++;
    if (seq !== this.next) {
      if (seq > this.next) run.lost += seq - this.next;
      else run.reordered++;
    }
    this.next = Math.max(this.next, seq + 1);
    const sent = run.sentAt[seq];
    if (sent !== undefined) {
      run.histogram.add(now - sent);
      run.byServer[this.server]!.add(now - sent);
      run.reached[seq] = (run.reached[seq] ?? 0) + 1;
      run.lastAt[seq] = now;
    }
    if (own) run.onOwn?.(seq);
  }
}

async function connectReceiver(
  url: URL,
  server: number,
): Promise<Receiver> {
  const conn = await Deno.connect({
    hostname: url.hostname,
    port: Number(url.port),
  });
  conn.setNoDelay(true);
  let head = "";
  const chunk = new Uint8Array(4096);
  await handshake(
    url,
    undefined,
    (bytes) => writeAll(conn, bytes),
    async () => {
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(chunk);
        if (n === null) throw new Error("closed during the handshake");
        head += decoder.decode(chunk.subarray(0, n));
      }
      return head.slice(0, head.indexOf("\r\n\r\n"));
    },
  );
  return new Receiver(conn, server);
}

function message(seq: number): Uint8Array {
  const text = `${seq} ${performance.now().toFixed(3)} `;
  return new TextEncoder().encode(text.padEnd(MESSAGE_BYTES, "x"));
}

async function probeHttp(origin: string, stop: AbortSignal): Promise<number[]> {
  const times: number[] = [];
  while (!stop.aborted) {
    const start = performance.now();
    try {
      const response = await fetch(origin, {
        signal: AbortSignal.timeout(5000),
      });
      await response.body?.cancel();
    } catch {
      // A refused or timed-out probe still took its time.
    }
    times.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return times;
}

const COUNTERS = {
  published: "socketry_backplane_published_total",
  received: "socketry_backplane_received_total",
  publishFailures: "socketry_backplane_publish_failures_total",
  malformed: "socketry_backplane_malformed_total",
  lost: "socketry_backplane_lost_total",
} as const;

/** The backplane counters summed over the servers' `/metrics`, or null. */
async function scrapeBackplane(
  origins: readonly string[],
): Promise<BackplaneCounts | null> {
  const sum: Record<keyof BackplaneCounts, number> = {
    published: 0,
    received: 0,
    publishFailures: 0,
    malformed: 0,
    lost: 0,
  };
  try {
    for (const origin of origins) {
      const response = await fetch(new URL("/metrics", origin), {
        signal: AbortSignal.timeout(5000),
      });
      const text = await response.text();
      for (const [field, name] of Object.entries(COUNTERS)) {
        const line = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
        if (line === null) return null;
        sum[field as keyof BackplaneCounts] += Number(line[1]);
      }
    }
  } catch {
    return null;
  }
  return sum;
}

/** `after` − `before`, field by field. */
function counted(
  before: BackplaneCounts | null,
  after: BackplaneCounts | null,
): BackplaneCounts | null {
  if (before === null || after === null) return null;
  return {
    published: after.published - before.published,
    received: after.received - before.received,
    publishFailures: after.publishFailures - before.publishFailures,
    malformed: after.malformed - before.malformed,
    lost: after.lost - before.lost,
  };
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0]!;
  } catch {
    return "-";
  }
}

/** Repeats a warm-up message until every receiver got one (30 s at most). */
async function warmUp(
  run: Run,
  publisher: Receiver,
  receivers: number,
): Promise<void> {
  const frame = clientFrame(0x1, new TextEncoder().encode("warm-up"));
  const deadline = performance.now() + 30_000;
  while (run.warmed < receivers) {
    if (performance.now() > deadline) {
      throw new Error(
        `only ${run.warmed} of ${receivers} receivers got a warm-up message within 30 s`,
      );
    }
    await writeAll(publisher.conn, frame);
    const wait = performance.now() + 500;
    while (run.warmed < receivers && performance.now() < wait) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  // Let the last warm-up copies drain before the window.
  await new Promise((resolve) => setTimeout(resolve, 200));
}

async function measure(
  setup: Setup,
  receivers: number,
  round: number,
): Promise<Result | string> {
  const started = await setup.start();
  if (typeof started === "string") return started;
  const urls = started.origins.map((origin) => {
    const url = new URL("/ws", origin);
    url.protocol = "ws:";
    return url;
  });
  const members: Receiver[] = [];
  try {
    for (let i = 0; i < receivers; i += 100) {
      const batch = Math.min(100, receivers - i);
      members.push(
        ...await Promise.all(
          Array.from(
            { length: batch },
            (_, j) =>
              connectReceiver(
                urls[(i + j) % urls.length]!,
                (i + j) % urls.length,
              ),
          ),
        ),
      );
    }
    const run = new Run(urls.length);
    const reading = members.map((member, i) => member.read(run, i === 0));
    const publisher = members[0]!;
    await warmUp(run, publisher, receivers);
    const backplaneBefore = started.backplane
      ? await scrapeBackplane(started.origins)
      : null;
    const stopProbe = new AbortController();
    const probe = probeHttp(started.origins[0]!, stopProbe.signal);
    const publishesBefore = started.redis === undefined
      ? null
      : await commandStats(started.redis.url, "publish");
    const cpuBefore = {
      generator: cpuSeconds("self"),
      servers: started.serverPids.map(cpuSeconds),
      redis: started.redis === undefined ? null : cpuSeconds(started.redis.pid),
      machine: machineCpuSeconds(),
    };
    let seq = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const start = performance.now();
    const send = () => {
      const frame = clientFrame(0x1, message(seq));
      run.sentAt[seq] = performance.now();
      seq++;
      writeAll(publisher.conn, frame).catch(() => {});
    };
    const finished = Promise.withResolvers<void>();
    let sending = true;
    if (RATE === undefined) {
      run.onOwn = (own) => {
        if (performance.now() < deadline) send();
        else if (own === seq - 1) finished.resolve();
      };
      for (let i = 0; i < IN_FLIGHT; i++) send();
    } else {
      run.onOwn = (own) => {
        if (!sending && own === seq - 1) finished.resolve();
      };
      // Every 5 ms, whatever the clock says is due.
      const clock = setInterval(() => {
        const now = performance.now();
        const due = Math.floor(
          ((Math.min(now, deadline) - start) * RATE) / 1000,
        );
        while (seq < due) send();
        if (now >= deadline) {
          clearInterval(clock);
          sending = false;
          if (seq === 0 || publisher.next >= seq) finished.resolve();
        }
      }, 5);
    }
    await Promise.race([
      finished.promise,
      new Promise((resolve) => setTimeout(resolve, SECONDS * 1000 + 30_000)),
    ]);
    // The last message's deliveries to the other members, then stop.
    const settle = performance.now() + 10_000;
    while (run.reached[seq - 1] !== receivers && performance.now() < settle) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const elapsed = (Math.max(...run.lastAt.filter(Number.isFinite)) - start) /
      1000;
    const window = (performance.now() - start) / 1000;
    const delta = (before: number | null, after: number | null) =>
      before === null || after === null
        ? null
        : (100 * (after - before)) / window;
    const generatorCpu = delta(cpuBefore.generator, cpuSeconds("self"));
    const serverCpus = started.serverPids.map((pid, i) =>
      delta(cpuBefore.servers[i]!, cpuSeconds(pid))
    );
    const serverCpu = serverCpus.includes(null)
      ? null
      : serverCpus.reduce((sum: number, cpu) => sum + cpu!, 0);
    const redisCpu = started.redis === undefined
      ? null
      : delta(cpuBefore.redis, cpuSeconds(started.redis.pid));
    const machineCpu = delta(cpuBefore.machine, machineCpuSeconds());
    const publishesAfter = started.redis === undefined
      ? null
      : await commandStats(started.redis.url, "publish");
    stopProbe.abort();
    const httpTimes = (await probe).sort((a, b) => a - b);
    const backplane = started.backplane
      ? counted(backplaneBefore, await scrapeBackplane(started.origins))
      : null;
    let within = 0;
    for (let n = 0; n < seq; n++) {
      if (
        run.reached[n] === receivers &&
        run.lastAt[n]! - run.sentAt[n]! <= WITHIN_MS
      ) within++;
    }
    for (const member of members) run.lost += Math.max(0, seq - member.next);
    for (const member of members) member.conn.close();
    await Promise.allSettled(reading);
    return {
      key: setup.key,
      server: setup.label,
      round,
      overRedis: started.redis !== undefined,
      receivers,
      published: seq,
      deliveries: run.deliveries,
      perSecond: run.deliveries / elapsed,
      lost: run.lost,
      reordered: run.reordered,
      p50: run.histogram.percentile(0.5),
      p99: run.histogram.percentile(0.99),
      perServer: run.byServer.map((histogram) => ({
        p50: histogram.percentile(0.5),
        p99: histogram.percentile(0.99),
      })),
      within250: within / seq,
      httpP99: httpTimes[Math.floor(httpTimes.length * 0.99)] ?? NaN,
      windowSeconds: window,
      generatorCpu,
      serverCpu,
      serverCpus,
      redisCpu,
      publishes: publishesBefore === null || publishesAfter === null ? null : {
        calls: publishesAfter.calls - publishesBefore.calls,
        usec: publishesAfter.usec - publishesBefore.usec,
      },
      otherCpu: machineCpu === null || generatorCpu === null ||
          serverCpu === null
        ? null
        : Math.max(0, machineCpu - generatorCpu - serverCpu - (redisCpu ?? 0)),
      backplane,
      load: loadAverage(),
    };
  } finally {
    for (const member of members) {
      try {
        member.conn.close();
      } catch {
        // Closed above.
      }
    }
    await started.stop();
  }
}

/**
 * Which CPU ran out over `turns` (medians): the generator's core, the
 * servers' cores, or the whole machine (other work included).
 */
function whatLimits(turns: readonly Result[], serverCores: number): string {
  const middle = (value: (r: Result) => number | null) =>
    knownMedian(turns.map(value)) ?? NaN;
  const generator = middle((r) => r.generatorCpu);
  const servers = middle((r) =>
    r.serverCpu === null ? null : r.serverCpu + (r.redisCpu ?? 0)
  );
  const other = middle((r) => r.otherCpu);
  const machine = 100 * machineCores();
  const shares = `generator ${generator.toFixed(0)}%, chats + Redis ${
    servers.toFixed(0)
  }% of ${serverCores} core(s), other work ${other.toFixed(0)}%`;
  if (generator >= 85) return `the load generator is the limit (${shares})`;
  if (servers >= 85 * serverCores) {
    return `the servers' cores are the limit (${shares})`;
  }
  if (generator + servers + other >= 0.8 * machine) {
    return `the machine's ${machineCores()} cores are busy, other work taking its share (${shares})`;
  }
  return RATE === undefined
    ? `no CPU ran out (${shares}): the ${IN_FLIGHT} in flight bound the rate`
    : `no CPU ran out (${shares}): below saturation at ${RATE} messages/s`;
}

/**
 * The machine's cores (`/proc/stat`): `navigator.hardwareConcurrency` counts
 * only those this process may run on, one when pinned.
 */
function machineCores(): number {
  try {
    return Deno.readTextFileSync("/proc/stat").split("\n").filter((line) =>
      /^cpu\d/.test(line)
    ).length;
  } catch {
    return navigator.hardwareConcurrency;
  }
}

/** How many CPUs a `taskset` list (`0`, `0-1`, `0,2-3`) names. */
function cpuCount(list: string): number {
  return list.split(",").reduce((sum, part) => {
    const [from, to] = part.split("-").map(Number);
    return sum + (to === undefined ? 1 : to! - from! + 1);
  }, 0);
}

stopAllOnSignal("fan-out servers");
const chatKeys = ["chat-native", "chat-engine"];
const chosen = (values.servers ??
  (values.redis ? "chat-native" : "chat-native,chat-engine,deno,ws,bun"))
  .split(",");
if (values.redis) {
  const others = chosen.filter((key) => !chatKeys.includes(key));
  if (others.length > 0) {
    console.error(`--redis compares chat servers only, not ${others}`);
    Deno.exit(2);
  }
  try {
    checkRedisServer(values["redis-server"]);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
const setups: Setup[] = values.redis
  ? chosen.flatMap((key) => {
    const backend = key === "chat-engine" ? "engine" : "native";
    return [
      single(key, `1 chat, ${backend}`, () => chatCommand(backend), false),
      ...ROOM_ORDERS.map((order) => overRedis(backend, order)),
    ];
  })
  : SERVERS.filter((server) => chosen.includes(server.key));
const results: Result[] = [];
const skipped: string[] = [];
const problems: string[] = [];
await measureThenStopAll(
  problems,
  () =>
    measureInTurns(
      ROOM_SIZES,
      ROUNDS,
      setups,
      async (receivers, round, _, setup) => {
        const result = await measure(setup, receivers, round);
        if (typeof result === "string") {
          skipped.push(`${setup.label} at ${receivers}: ${result}`);
          return;
        }
        results.push(result);
        console.error(
          `${setup.label}, ${receivers} receivers, round ${round + 1}: ${
            Math.round(result.perSecond)
          } deliveries/s, p99 ${result.p99} ms, generator ${
            percent(result.generatorCpu)
          } of a core, load ${result.load}`,
        );
      },
    ),
);

function fixed(value: number | null, digits: number): string {
  return value !== null && Number.isFinite(value) ? value.toFixed(digits) : "-";
}
function percent(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(0)}%`;
}
const withRounds = ROUNDS > 1;
console.log(
  `Fan-out: ${MESSAGE_BYTES} B text, 1 publisher with ${
    RATE === undefined ? `${IN_FLIGHT} in flight` : `${RATE} messages/s`
  }, ${SECONDS} s per run, servers${
    values.redis ? " and Redis" : ""
  } on CPU ${SERVER_CPUS}; CPU columns in % of one core\n`,
);
console.log(table([
  [
    "server",
    ...(withRounds ? ["round"] : []),
    "receivers",
    "messages",
    "deliveries/s",
    "lost",
    "reordered",
    "p50 ms",
    "p99 ms",
    `all within ${WITHIN_MS} ms`,
    "HTTP p99 ms",
    "generator CPU",
    "server CPU",
    ...(values.redis ? ["Redis CPU"] : []),
    "other CPU",
    "load",
  ],
  ...results.map((r) => [
    r.server,
    ...(withRounds ? [String(r.round + 1)] : []),
    String(r.receivers),
    String(r.published),
    String(Math.round(r.perSecond)),
    String(r.lost),
    String(r.reordered),
    fixed(r.p50, 1),
    fixed(r.p99, 1),
    `${(r.within250 * 100).toFixed(0)}%`,
    fixed(r.httpP99, 1),
    percent(r.generatorCpu),
    percent(r.serverCpu),
    ...(values.redis ? [percent(r.redisCpu)] : []),
    percent(r.otherCpu),
    r.load,
  ]),
]));

if (values.redis) reportRedis();
else reportRatios();
if (skipped.length > 0) console.log(`\nSkipped: ${skipped.join("; ")}`);
if (problems.length > 0) {
  console.log(`\nStopped by: ${problems.join("; ")}`);
  Deno.exit(1);
}

/** Median deliveries/s of each socketry server over the baselines'. */
function reportRatios(): void {
  const ratioRows: string[][] = [];
  for (const receivers of ROOM_SIZES) {
    const at = results.filter((r) => r.receivers === receivers);
    const rate = (label: string) => {
      const rates = at.filter((r) => r.server === label).map((r) =>
        r.perSecond
      );
      return rates.length === 0 ? undefined : median(rates);
    };
    const ours = [
      ...new Set(
        at.filter((r) => r.server.startsWith("socketry")).map((r) => r.server),
      ),
    ];
    for (const server of ours) {
      const ratio = (label: string) => {
        const theirs = rate(label);
        return theirs === undefined
          ? "-"
          : `${(rate(server)! / theirs).toFixed(2)}x`;
      };
      ratioRows.push([
        server,
        String(receivers),
        ratio("Node ws loop"),
        ratio("raw Deno loop"),
        ratio("Bun server.publish"),
      ]);
    }
  }
  console.log(
    "\n" +
      table([
        ["server", "receivers", "vs ws", "vs raw Deno", "vs Bun"],
        ...ratioRows,
      ]),
  );
}

/**
 * What crossing processes through Redis cost: the backplane's counts and
 * CPU per delivery of each Redis turn, then per backend and room size the
 * ratio cross-process / single-process round by round, p99 against the
 * goals (0.8×, 50 ms), and which process ran out of CPU.
 */
function reportRedis(): void {
  const cores = cpuCount(SERVER_CPUS);
  const micros = (cpu: number | null, r: Result) =>
    cpu === null ? "-" : ((cpu / 100) * 1e6 / r.perSecond).toFixed(2);
  const count = (r: Result, field: keyof BackplaneCounts) =>
    r.backplane === null ? "-" : String(r.backplane[field]);
  console.log(
    "\n" + table([
      [
        "server",
        "round",
        "receivers",
        "published",
        "received",
        "publish failures",
        "malformed",
        "p50/p99 ms on each chat",
        "chat CPU each",
        "chat µs/delivery",
        "Redis CPU ms",
        "Redis µs/message",
        "PUBLISH calls",
        "PUBLISH µs/call",
      ],
      ...results.map((r) => {
        const redisMs = r.redisCpu === null
          ? null
          : r.redisCpu * r.windowSeconds * 10;
        return [
          r.server,
          String(r.round + 1),
          String(r.receivers),
          count(r, "published"),
          count(r, "received"),
          count(r, "publishFailures"),
          count(r, "malformed"),
          r.perServer.map((at) => `${fixed(at.p50, 1)}/${fixed(at.p99, 1)}`)
            .join(" | "),
          r.serverCpus.map(percent).join(" + "),
          micros(r.serverCpu, r),
          fixed(redisMs, 0),
          redisMs === null ? "-" : fixed(1000 * redisMs / r.published, 1),
          r.publishes === null ? "-" : String(r.publishes.calls),
          r.publishes === null || r.publishes.calls === 0
            ? "-"
            : (r.publishes.usec / r.publishes.calls).toFixed(1),
        ];
      }),
    ]),
  );
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const receivers of ROOM_SIZES) {
    for (const key of chosen) {
      const of = (redis: boolean) =>
        results.filter((r) =>
          r.receivers === receivers && r.key === key && r.overRedis === redis
        );
      const one = of(false);
      for (const label of new Set(of(true).map((r) => r.server))) {
        const two = of(true).filter((r) => r.server === label);
        const ratios = pairedRatios(two, one, (r) => r.perSecond);
        const ratio = ratios.length === 0 ? null : median(ratios);
        const p99 = median(two.map((r) => r.p99));
        // Server CPU per delivery (chats, plus Redis): steadier than the rates
        // when other work shares the machine.
        const cost = (r: Result) =>
          r.serverCpu === null ? null : (r.serverCpu + (r.redisCpu ?? 0)) /
            r.perSecond;
        const costs = pairedRatios(
          two.filter((r) => cost(r) !== null),
          one.filter((r) => cost(r) !== null),
          (r) => cost(r)!,
        );
        rows.push([
          label,
          String(receivers),
          String(Math.round(median(one.map((r) => r.perSecond)))),
          String(Math.round(median(two.map((r) => r.perSecond)))),
          ratios.map((value) => value.toFixed(2)).join(", "),
          ratio === null ? "-" : `${ratio.toFixed(2)}x`,
          fixed(median(one.map((r) => r.p99)), 1),
          fixed(p99, 1),
          String(two.reduce((sum, r) => sum + r.lost + r.reordered, 0)),
          costs.length === 0 ? "-" : `${median(costs).toFixed(2)}x`,
        ]);
        const limit = whatLimits(two, cores);
        verdicts.push(
          `${label} at ${receivers}: ratio ${
            ratio === null ? "-" : ratio.toFixed(2)
          } (${
            RATE !== undefined
              ? "set by --rate: 1.00 means both kept up"
              : `goal ≥ 0.8: ${
                ratio !== null && ratio >= 0.8 ? "met" : "not met"
              }`
          }), p99 ${fixed(p99, 1)} ms (goal < 50: ${
            p99 < 50 ? "met" : "not met"
          }); over Redis, ${limit}`,
        );
      }
      const orders = of(true).filter((r) => !r.server.endsWith("sender order"));
      const senders = of(true).filter((r) => r.server.endsWith("sender order"));
      if (orders.length > 0 && senders.length > 0) {
        const paired = pairedRatios(orders, senders, (r) => r.perSecond);
        verdicts.push(
          `${key} at ${receivers}: total order / sender order ${
            paired.map((value) => value.toFixed(2)).join(", ")
          } (median ${median(paired).toFixed(2)}x), p99 ${
            fixed(median(orders.map((r) => r.p99)), 1)
          } against ${fixed(median(senders.map((r) => r.p99)), 1)} ms`,
        );
      }
    }
  }
  console.log(
    "\n" + table([
      [
        "setup",
        "receivers",
        "1 chat /s",
        "2 chats + Redis /s",
        "paired ratios",
        "median ratio",
        "1 chat p99",
        "2 chats p99",
        "lost + reordered",
        "CPU/delivery ratio",
      ],
      ...rows,
    ]),
  );
  if (verdicts.length > 0) console.log(`\n${verdicts.join("\n")}`);
}
