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
 *         [--generator c|deno] [--spin]
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
 * `--spin` has the C generator poll without sleeping. On loopback the kernel
 * delivers each send into its receiver's socket on the server's CPU, and
 * waking a receiver that sleeps is then part of the send (on this project's
 * 2-core VM, up to half of it, and most for the slower servers, whose
 * receivers sleep more): a server sending to other machines never pays it.
 * Spinning takes that cost out and steadies the figures; the generator then
 * reports its whole core.
 *
 * Servers: `examples/chat/main.ts` on both backends (room `lobby`),
 * `bench/servers/fanout_deno.ts` (raw `Deno.upgradeWebSocket`, a loop over
 * its sockets), `bench/servers/fanout_ws.mjs` (Node `ws`, a loop over
 * `wss.clients`) and `bench/servers/fanout_bun.ts` (`server.publish`; run
 * when a `bun` binary is found: `--bun`, `node_modules/.bin/bun` or the
 * PATH, and skipped otherwise). Every server includes the sender.
 *
 * The receivers (bench/helpers/fanout_generator.ts) are the C load
 * generator's (`bench/loadgen/loadgen.c --mode fanout`, built with gcc on
 * first use; `--generator c`, the default where gcc is found), or raw
 * RFC 6455 clients over `Deno.connect` in this process (`--generator
 * deno`), which at 10,000 receivers use their whole core and then set the
 * pace and the latencies themselves. Before the
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
import {
  type Delivered,
  denoFanout,
  type FanoutGenerator,
  loadgenFanout,
  WITHIN_MS,
} from "./helpers/fanout_generator.ts";
import { gccAvailable } from "./loadgen/build.ts";
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
    generator: { type: "string" },
    spin: { type: "boolean", default: false },
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
                           total,sender to compare
  --generator c|deno       the receivers: the C load generator (default
                           where gcc is found) or clients in this process
  --spin                   the C generator polls without sleeping: no send
                           pays on the server's CPU for waking a receiver`);
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
const GENERATOR = generatorOption(values.generator);
if (values.spin && GENERATOR !== "c") {
  console.error("--spin needs the C load generator (--generator c)");
  Deno.exit(2);
}
const IN_FLIGHT = 4;
const MESSAGE_BYTES = 64;

/** `--generator`: "c" by default where gcc is found, "deno" otherwise. */
function generatorOption(value: string | undefined): "c" | "deno" {
  if (value === "c" || value === "deno") return value;
  if (value !== undefined) {
    console.error(`--generator takes c or deno, not ${value}`);
    Deno.exit(2);
  }
  if (gccAvailable()) return "c";
  console.error(
    "gcc not found: the receivers run in this process (--generator deno), " +
      "which at 10,000 receivers limits every server",
  );
  return "deno";
}

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
interface Result extends Omit<Delivered, "seconds"> {
  readonly key: string;
  readonly server: string;
  readonly round: number;
  /** Whether it ran over Redis. */
  readonly overRedis: boolean;
  readonly receivers: number;
  readonly perSecond: number;
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
  let generator: FanoutGenerator | undefined;
  try {
    try {
      generator = await (GENERATOR === "c" ? loadgenFanout : denoFanout)({
        urls,
        receivers,
        seconds: SECONDS,
        rate: RATE,
        inFlight: IN_FLIGHT,
        messageBytes: MESSAGE_BYTES,
        spin: values.spin,
      });
    } catch (error) {
      // Receivers that could not join: this turn is skipped, the others run.
      return error instanceof Error ? error.message : String(error);
    }
    const backplaneBefore = started.backplane
      ? await scrapeBackplane(started.origins)
      : null;
    const stopProbe = new AbortController();
    const probe = probeHttp(started.origins[0]!, stopProbe.signal);
    const publishesBefore = started.redis === undefined
      ? null
      : await commandStats(started.redis.url, "publish");
    const cpuBefore = {
      generator: cpuSeconds(generator.pid),
      servers: started.serverPids.map(cpuSeconds),
      redis: started.redis === undefined ? null : cpuSeconds(started.redis.pid),
      machine: machineCpuSeconds(),
    };
    const start = performance.now();
    let delivered: Delivered;
    try {
      delivered = await generator.publish();
    } catch (error) {
      stopProbe.abort();
      await probe;
      return error instanceof Error ? error.message : String(error);
    }
    const window = (performance.now() - start) / 1000;
    const delta = (before: number | null, after: number | null) =>
      before === null || after === null
        ? null
        : (100 * (after - before)) / window;
    const generatorCpu = delta(cpuBefore.generator, cpuSeconds(generator.pid));
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
    return {
      key: setup.key,
      server: setup.label,
      round,
      overRedis: started.redis !== undefined,
      receivers,
      ...delivered,
      perSecond: delivered.deliveries / delivered.seconds,
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
    await generator?.close();
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
  } on CPU ${SERVER_CPUS}${
    values.spin ? ", the generator spinning" : ""
  }; CPU columns in % of one core\n`,
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
