/**
 * Echo scenarios: the six shapes of WebSocket traffic a server's users
 * meet, measured for raw `Deno.upgradeWebSocket`, Node's `ws`, Bun (when a
 * `bun` binary is found) and socketry's two backends, in one run, by a
 * load generator written in C (`bench/loadgen/loadgen.c`, compiled with
 * `gcc -O2` on first use), each server pinned to one CPU and the load
 * generator to another.
 *
 *     deno run -A bench/echo_scenarios.ts [--servers raw,ws,bun,native,engine]
 *         [--scenarios 1,2,3,4,5,6,fair] [--rounds 3] [--seconds 5]
 *         [--warmup 1] [--idle-connections 10000] [--idle-wait 3]
 *         [--bun PATH] [--server-cpu 0] [--client-cpu 1] [--v8-flags FLAGS]
 *
 * The scenarios (`--scenarios`), each reported as the median over
 * `--rounds` rounds:
 *
 * 1. 64 B text echoes, 100 connections, 1 in flight each: messages/s;
 * 2. 64 B text echoes, 100 connections, 16 in flight each: messages/s;
 * 3. 16 KiB binary echoes, 10 connections, 4 in flight each: MB/s;
 * 4. 1 MiB binary echoes, 1 connection, 2 in flight: MB/s;
 * 5. handshakes/s: 16 workers, each repeating TCP connect, opening
 *    handshake, one 64 B text echo, close handshake (1000 and the server's
 *    close frame back), TCP close;
 * 6. resident memory per idle connection, KiB: a fresh server, a 20-socket
 *    warm-up (each echoes once and goes), then `--idle-connections` sockets
 *    that complete the opening handshake and stay idle (pings answered);
 *    (RSS after − RSS before) / connections, RSS the median of 5 readings
 *    of `VmRSS` 400 ms apart after `--idle-wait` seconds (default 3) of
 *    settling, as
 *    `bench/idle_memory.ts` measures it; the server must hold that many
 *    more sockets (`/proc/PID/fd`);
 * - fair: 16 KiB binary echoes, 100 connections, 16 in flight each (how
 *   p99.9 latency compares with the median when many sockets compete, and
 *   the fewest and most echoes any one socket got).
 *
 * For the echo scenarios the load generator keeps that many messages in
 * flight on every socket (each echo sends the next), counts echoes over
 * `--seconds` after `--warmup` seconds and times each from the moment its
 * message was queued to the moment its echo was whole (p50, p99, p99.9;
 * for handshakes, the time of a whole cycle). MB/s is payload bytes echoed
 * per second, 10^6 B a MB, each round trip counted once. Every echo is
 * checked (type, length, every byte; each socket cycles through 8
 * payloads, so a stale or reordered echo fails too), and every
 * `Sec-WebSocket-Accept`: an error anywhere fails the run (exit 1).
 *
 * The servers (`bench/helpers/echo_servers.ts`, each its own child process
 * on a port the system picks):
 * - `raw`: `bench/servers/raw_deno_echo.ts`, `Deno.upgradeWebSocket`;
 * - `ws`: `bench/servers/ws_echo.mjs`, Node's `ws` (no compression);
 * - `bun`: `bench/servers/bun_echo.ts`, `Bun.serve` (run with `--bun`,
 *   `node_modules/.bin/bun` or the `bun` on the PATH; left out, with a
 *   notice, when there is none and `--servers` did not name it);
 * - `native`: the echo sample, `examples/echo/main.ts`;
 * - `engine`: the sample with `--backend engine`.
 *
 * `--v8-flags FLAGS` starts the three Deno servers (raw, native, engine)
 * with `--v8-flags=FLAGS`, to measure a V8 setting (the garbage
 * collector's, say) on all of them alike.
 *
 * Turns: for each scenario and round every server gets one measurement, in
 * an order rotated by one each round. Servers for scenarios 1 to 5 and
 * `fair` are started once and serve every round; scenario 6 starts a fresh
 * server per measurement. Each server runs under `taskset -c
 * --server-cpu`, each load generator under `taskset -c --client-cpu`
 * (without `taskset` nothing is pinned, with a notice). Other processes on
 * the machine show in the `other CPU` column (% of a core, outside server
 * and load generator), and a `*` marks a round above 25%.
 *
 * Prints the table (median per server, ratios native/raw, engine/ws,
 * engine/raw: for memory, lower is better); the server's CPU time per
 * operation (echo or handshake cycle, from `/proc`) with the same ratios
 * taken at equal CPU, the steadier figure when other processes take CPU
 * time from the pinned server; the latency and CPU figures per scenario
 * and server; the table in Markdown; and a JSON summary line. The servers are killed by PID at the end, also on failure or
 * Ctrl-C. Linux only (`/proc`, `epoll`, `taskset`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  collectLines,
  delay,
  findBun,
  measureThenStopAll,
  nodeVersion,
  pinned,
  positive,
  runForReport,
  spawnChild,
  stopAllOnSignal,
  stopChild,
  within,
} from "./helpers/children.ts";
import { BUSY_PERCENT, type CpuFigures, cpuFigures } from "./helpers/cpu.ts";
import {
  bunEchoServer,
  ECHO_SERVERS,
  type RunningServer,
  type ServerSpec,
  startEchoServer,
} from "./helpers/echo_servers.ts";
import {
  openFileLimit,
  readMemory,
  sampleMemory,
  socketCount,
} from "./helpers/memory.ts";
import { addCounts, finish, messageOf } from "./helpers/outcome.ts";
import { measureInTurns } from "./helpers/rounds.ts";
import { knownMedian, median } from "./helpers/stats.ts";
import { formatMegabytes, table } from "./helpers/table.ts";
import { buildLoadgen } from "./loadgen/build.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    servers: { type: "string" },
    scenarios: { type: "string", default: "1,2,3,4,5,6,fair" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    "idle-connections": { type: "string", default: "10000" },
    "idle-wait": { type: "string", default: "3" },
    bun: { type: "string" },
    "server-cpu": { type: "string", default: "0" },
    "client-cpu": { type: "string", default: "1" },
    "v8-flags": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "Usage: deno run -A bench/echo_scenarios.ts [--servers raw,ws,bun,native,engine] [--scenarios 1,2,3,4,5,6,fair] [--rounds 3] [--seconds 5] [--warmup 1] [--idle-connections 10000] [--idle-wait 3] [--bun PATH] [--server-cpu 0] [--client-cpu 1] [--v8-flags FLAGS]",
  );
  Deno.exit(0);
}

const rounds = positive("rounds", values.rounds);
const seconds = positive("seconds", values.seconds, false);
const warmup = Number(values.warmup);
if (!(warmup >= 0)) {
  console.error(`--warmup must be a number >= 0, got ${values.warmup}`);
  Deno.exit(2);
}
const idleConnections = positive(
  "idle-connections",
  values["idle-connections"],
);
// V8 keeps the heap it grew while the sockets opened for about 25 s, then
// gives much of it back: --idle-wait 40 measures that settled state.
const idleWaitSeconds = positive("idle-wait", values["idle-wait"], false);

// ---- scenarios ----------------------------------------------------------------

/** What the load generator is asked to do, and how its result is shown. */
type Scenario =
  & { readonly key: string; readonly title: string }
  & (
    | {
      readonly kind: "echo";
      readonly connections: number;
      readonly inflight: number;
      readonly size: number;
      readonly binary: boolean;
      readonly unit: "msgs/s" | "MB/s";
    }
    | { readonly kind: "handshake"; readonly workers: number }
    | { readonly kind: "idle" }
  );

const SCENARIOS: readonly Scenario[] = [
  {
    key: "1",
    title: "64 B text, 100 conns, 1 in flight each, msgs/s",
    kind: "echo",
    connections: 100,
    inflight: 1,
    size: 64,
    binary: false,
    unit: "msgs/s",
  },
  {
    key: "2",
    title: "64 B text, 100 conns, 16 in flight, msgs/s",
    kind: "echo",
    connections: 100,
    inflight: 16,
    size: 64,
    binary: false,
    unit: "msgs/s",
  },
  {
    key: "3",
    title: "16 KiB binary, 10 conns, 4 in flight, MB/s",
    kind: "echo",
    connections: 10,
    inflight: 4,
    size: 16384,
    binary: true,
    unit: "MB/s",
  },
  {
    key: "4",
    title: "1 MiB binary, 1 conn, 2 in flight, MB/s",
    kind: "echo",
    connections: 1,
    inflight: 2,
    size: 1048576,
    binary: true,
    unit: "MB/s",
  },
  {
    key: "5",
    title: "handshakes/s (16 concurrent: connect, upgrade, one echo, close)",
    kind: "handshake",
    workers: 16,
  },
  {
    key: "6",
    title: `RSS per idle connection, ${
      idleConnections.toLocaleString("en-US")
    } held${idleWaitSeconds === 3 ? "" : ` for ${idleWaitSeconds} s`}, KiB`,
    kind: "idle",
  },
  {
    key: "fair",
    title: "16 KiB binary, 100 conns, 16 in flight, MB/s (fairness)",
    kind: "echo",
    connections: 100,
    inflight: 16,
    size: 16384,
    binary: true,
    unit: "MB/s",
  },
];

// ---- the load generator -----------------------------------------------------------

/** The error counts the load generator reports. */
interface LoadErrors {
  connect: number;
  handshake: number;
  mismatch: number;
  protocol: number;
  closed: number;
  unanswered: number;
  timeout: number;
}

/** The load generator's report of an echo or handshake window. */
interface LoadReport {
  roundTrips: number;
  seconds: number;
  clientCpuSeconds: number | null;
  serverCpuSeconds: number | null;
  machineCpuSeconds: number | null;
  latencyMicros: {
    p50: number | null;
    p99: number | null;
    p999: number | null;
    max: number;
  };
  /** Echo mode: the fewest and most echoes one socket got in the window. */
  perSocket?: { min: number; max: number };
  errors: LoadErrors;
  firstError: string | null;
}

/** The load generator's report once its idle sockets are open. */
interface IdleReport {
  ready: number;
  failed: number;
  errors: LoadErrors;
  firstError: string | null;
}

let loadgen = "";
let pinning = true;
const clientCpu = () => pinning ? values["client-cpu"] : undefined;
const serverCpu = () => pinning ? values["server-cpu"] : undefined;

function taskset(): boolean {
  try {
    return new Deno.Command("taskset", {
      args: ["-c", "0", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** One echo or handshake window against `server`. */
async function runLoad(
  scenario: Scenario,
  server: RunningServer,
): Promise<LoadReport> {
  const args = [
    "--url",
    server.url,
    "--warmup",
    String(warmup),
    "--seconds",
    String(seconds),
    "--server-pid",
    String(server.child.pid),
  ];
  if (scenario.kind === "echo") {
    args.push(
      "--mode",
      "echo",
      "--conns",
      String(scenario.connections),
      "--inflight",
      String(scenario.inflight),
      "--size",
      String(scenario.size),
      ...(scenario.binary ? ["--binary"] : []),
    );
  } else {
    args.push("--mode", "handshake", "--conns", "16");
  }
  const [command, commandArgs] = pinned([loadgen, args], clientCpu());
  const line = await runForReport(
    command,
    commandArgs,
    (warmup + seconds) * 1000 + 40_000,
    `load generator against ${server.spec.key}`,
  );
  return JSON.parse(line) as LoadReport;
}

/**
 * Starts a load generator holding `count` idle sockets to `url` (`echo`:
 * after one echo each); resolves once it reports them open.
 */
async function openIdle(
  url: string,
  count: number,
  echo: boolean,
): Promise<{ child: Deno.ChildProcess; report: IdleReport }> {
  const [command, args] = pinned(
    [loadgen, [
      "--url",
      url,
      "--mode",
      "idle",
      "--conns",
      String(count),
      ...(echo ? ["--echo"] : []),
    ]],
    clientCpu(),
  );
  const child = spawnChild(command, args);
  const output: string[] = [];
  const report = Promise.withResolvers<string>();
  collectLines(child.stdout, output, (line) => {
    if (line.startsWith("{")) report.resolve(line);
  });
  collectLines(child.stderr, output);
  child.status.then(() =>
    report.reject(
      new Error(`the idle load generator exited:\n${output.join("\n")}`),
    )
  );
  const line = await within(report.promise, 150_000, null);
  if (line === null) {
    await stopChild(child, "SIGKILL", 2_000);
    throw new Error("the idle sockets did not open within 150 s");
  }
  return { child, report: JSON.parse(line) as IdleReport };
}

// ---- measurements -----------------------------------------------------------------

/** One server's figure in one round of one scenario. */
interface Measurement extends Partial<CpuFigures> {
  scenario: string;
  round: number;
  server: string;
  /** msgs/s, MB/s, handshakes/s or KiB per idle connection. */
  value: number;
  p50Ms?: number | null;
  p99Ms?: number | null;
  p999Ms?: number | null;
  /** Echoes per socket in the window: the fewest and the most. */
  perSocket?: { min: number; max: number };
  /** Memory: RSS before and after the idle sockets, KiB. */
  rssBeforeKiB?: number;
  rssAfterKiB?: number;
}

const SETTLE_MS = 3_000;
const SAMPLES = 5;

/** Scenario 6 against a fresh server of `spec`. */
async function measureIdle(spec: ServerSpec): Promise<Measurement> {
  const server = await startEchoServer(spec, [], serverCpu());
  const pid = server.child.pid;
  const clients: Deno.ChildProcess[] = [];
  try {
    await delay(SETTLE_MS);
    const warm = await openIdle(server.url, 20, true);
    await stopChild(warm.child, "SIGKILL", 2_000);
    if (warm.report.failed > 0) {
      throw new Error(
        `${warm.report.failed} warm-up socket(s) failed: ${warm.report.firstError}`,
      );
    }
    await delay(SETTLE_MS);
    const socketsBefore = socketCount(pid);
    const before = await sampleMemory(pid, SAMPLES);
    const idle = await openIdle(server.url, idleConnections, false);
    clients.push(idle.child);
    if (idle.report.failed > 0 || idle.report.ready < idleConnections) {
      throw new Error(
        `${idleConnections - idle.report.ready} of ${idleConnections} ` +
          `idle socket(s) failed: ${idle.report.firstError}`,
      );
    }
    await delay(idleWaitSeconds * 1000);
    const added = socketCount(pid) - socketsBefore;
    const after = await sampleMemory(pid, SAMPLES);
    if (server.exited || readMemory(pid) === null) {
      throw new Error(`the ${spec.key} server is gone`);
    }
    if (added < idleConnections) {
      throw new Error(
        `the ${spec.key} server holds only ${added} more sockets, not ${idleConnections}`,
      );
    }
    return {
      scenario: "6",
      round: 0,
      server: spec.key,
      value: (after.rss - before.rss) / idleConnections,
      rssBeforeKiB: before.rss,
      rssAfterKiB: after.rss,
    };
  } finally {
    // Clients first (their sockets drop), then the server, all by PID.
    for (const child of clients) await stopChild(child, "SIGKILL", 2_000);
    await stopChild(server.child, "SIGKILL", 2_000);
  }
}

/** An echo or handshake scenario against a running server. */
async function measureLoad(
  scenario: Scenario,
  server: RunningServer,
  totalErrors: LoadErrors,
  problems: string[],
  round: number,
): Promise<Measurement> {
  if (server.exited) {
    throw new Error(
      `the ${server.spec.key} server exited:\n${server.output.join("\n")}`,
    );
  }
  const report = await runLoad(scenario, server);
  addCounts(totalErrors, report.errors);
  if (report.firstError !== null) {
    problems.push(
      `${server.spec.key}, scenario ${scenario.key}, round ${
        round + 1
      }: ${report.firstError}`,
    );
  }
  if (report.roundTrips === 0) {
    problems.push(
      `${server.spec.key}, scenario ${scenario.key}, round ${
        round + 1
      }: nothing completed in the window (server CPU ${
        Math.round(cpuFigures(report).serverCpuPercent ?? 0)
      }%)`,
    );
  }
  const rate = report.seconds > 0 ? report.roundTrips / report.seconds : 0;
  const ms = (micros: number | null) => micros === null ? null : micros / 1000;
  return {
    scenario: scenario.key,
    round,
    server: server.spec.key,
    value: scenario.kind === "echo" && scenario.unit === "MB/s"
      ? (rate * scenario.size) / 1e6
      : rate,
    p50Ms: ms(report.latencyMicros.p50),
    p99Ms: ms(report.latencyMicros.p99),
    p999Ms: ms(report.latencyMicros.p999),
    ...(report.perSocket === undefined ? {} : { perSocket: report.perSocket }),
    ...cpuFigures(report),
  };
}

// ---- report -----------------------------------------------------------------------

/** A figure as the issue's table shows it: 82.1k, 1.34M, 828, 19.6. */
function formatValue(scenario: Scenario, value: number): string {
  if (scenario.kind === "idle") return value.toFixed(1);
  if (scenario.kind === "echo" && scenario.unit === "MB/s") {
    return formatMegabytes(value);
  }
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  return value.toFixed(0);
}

function formatMs(ms: number | null): string {
  if (ms === null) return "-";
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** The ratios of the table: [label, numerator, denominator]. */
const RATIOS: readonly [string, string, string][] = [
  ["native/raw", "native", "raw"],
  ["engine/ws", "engine", "ws"],
  ["engine/raw", "engine", "raw"],
];

async function main(): Promise<void> {
  const scenarioKeys = values.scenarios.split(",").map((key) => key.trim());
  const scenarios = scenarioKeys.map((key) =>
    SCENARIOS.find((s) => s.key === key) ??
      (() => {
        console.error(
          `--scenarios: unknown scenario ${key} (use ${
            SCENARIOS.map((s) => s.key).join(", ")
          })`,
        );
        Deno.exit(2);
      })()
  );

  const v8Flags = values["v8-flags"];
  if (v8Flags !== undefined && v8Flags.trim() === "") {
    console.error(
      "--v8-flags: give V8 flags, e.g. --v8-flags=--max-semi-space-size=1",
    );
    Deno.exit(2);
  }
  const bun = findBun(values.bun);
  const named = values.servers?.split(",").map((key) => key.trim());
  const specs: ServerSpec[] = [];
  for (const key of named ?? ["raw", "ws", "bun", "native", "engine"]) {
    if (key === "bun") {
      if (bun !== undefined) specs.push(bunEchoServer(bun));
      else if (named !== undefined || values.bun !== undefined) {
        console.error(
          `--servers bun: no bun binary (${
            values.bun ?? "node_modules/.bin/bun or the PATH"
          }); install the npm package bun somewhere and pass --bun PATH`,
        );
        Deno.exit(2);
      } else {
        console.log(
          "Notice: no bun binary (--bun PATH, node_modules/.bin/bun or the PATH): Bun is left out",
        );
      }
      continue;
    }
    const spec = (ECHO_SERVERS as Record<string, ServerSpec>)[key];
    if (spec === undefined) {
      console.error(
        `--servers: unknown server ${key} (use raw, ws, bun, native, engine)`,
      );
      Deno.exit(2);
    }
    specs.push(
      v8Flags === undefined || spec.runtime !== "deno"
        ? spec
        : { ...spec, denoFlags: [`--v8-flags=${v8Flags}`] },
    );
  }
  if (new Set(specs.map((s) => s.key)).size !== specs.length) {
    console.error("--servers names a server twice");
    Deno.exit(2);
  }

  if (scenarios.some((s) => s.kind === "idle")) {
    const limit = openFileLimit();
    if (idleConnections + 64 > limit) {
      console.error(
        `--idle-connections ${idleConnections} needs ${
          idleConnections + 64
        } file descriptors in the server and in the load generator, but ulimit -n is ${limit}`,
      );
      Deno.exit(2);
    }
  }

  try {
    loadgen = await buildLoadgen();
  } catch (error) {
    console.error(messageOf(error));
    Deno.exit(2);
  }
  pinning = taskset();
  if (!pinning) {
    console.log("Notice: taskset is missing or failed: nothing is pinned");
  }

  stopAllOnSignal("servers");
  const measurements: Measurement[] = [];
  const problems: string[] = [];
  const totalErrors: LoadErrors = {
    connect: 0,
    handshake: 0,
    mismatch: 0,
    protocol: 0,
    closed: 0,
    unanswered: 0,
    timeout: 0,
  };
  const idleOnly = scenarios.every((s) => s.kind === "idle");
  console.log(
    `Echo scenarios ${
      scenarioKeys.join(",")
    }: ${rounds} round(s) of ${seconds} s ` +
      `after ${warmup} s warm-up; servers on CPU ${
        serverCpu() ?? "any"
      }, load generator (C, ${loadgen}) on CPU ${clientCpu() ?? "any"}; ` +
      `Deno ${Deno.version.deno}, Node ${nodeVersion()}, ${navigator.hardwareConcurrency} CPU(s)` +
      (v8Flags === undefined
        ? ""
        : `; Deno servers run with --v8-flags=${v8Flags}`),
  );

  await measureThenStopAll(problems, async () => {
    const running = new Map<string, RunningServer>();
    if (!idleOnly) {
      for (const spec of specs) {
        const server = await startEchoServer(spec, [], serverCpu());
        running.set(spec.key, server);
        console.log(
          `  ${
            spec.key.padEnd(7)
          } ${spec.label} on ${server.url} (pid ${server.child.pid})`,
        );
      }
    }
    await measureInTurns(
      scenarios,
      rounds,
      specs,
      async (scenario, round, _, spec) => {
        let m: Measurement;
        try {
          m = scenario.kind === "idle"
            ? { ...(await measureIdle(spec)), round }
            : await measureLoad(
              scenario,
              running.get(spec.key)!,
              totalErrors,
              problems,
              round,
            );
        } catch (error) {
          problems.push(
            `${spec.key}, scenario ${scenario.key}, round ${round + 1}: ${
              messageOf(error)
            }`,
          );
          console.log(
            `  ${scenario.key.padEnd(4)} round ${round + 1}  ${
              spec.key.padEnd(7)
            } FAILED`,
          );
          return;
        }
        measurements.push(m);
        const unit = scenario.kind === "echo"
          ? scenario.unit
          : scenario.kind === "handshake"
          ? "handshakes/s"
          : "KiB/conn";
        const cpu = (label: string, value: number | null | undefined) =>
          value === null || value === undefined
            ? ""
            : `  ${label} ${Math.round(value)}%`;
        console.log(
          `  ${scenario.key.padEnd(4)} round ${round + 1}  ${
            spec.key.padEnd(7)
          } ` +
            `${formatValue(scenario, m.value).padStart(7)} ${unit}` +
            (m.p50Ms === undefined
              ? ""
              : `  p50 ${formatMs(m.p50Ms ?? null)} p99 ${
                formatMs(m.p99Ms ?? null)
              } p99.9 ${formatMs(m.p999Ms ?? null)} ms`) +
            (m.perSocket === undefined
              ? ""
              : `  per socket ${m.perSocket.min}..${m.perSocket.max}`) +
            (m.rssBeforeKiB === undefined
              ? ""
              : `  RSS ${(m.rssBeforeKiB / 1024).toFixed(1)} → ${
                ((m.rssAfterKiB ?? 0) / 1024).toFixed(1)
              } MiB`) +
            cpu("server CPU", m.serverCpuPercent) +
            cpu("client", m.clientCpuPercent) +
            cpu("other", m.otherCpuPercent),
        );
      },
    );
  });

  // The main table: one row per scenario, one column per server, ratios.
  const keys = specs.map((s) => s.key);
  const ratios = RATIOS.filter(([, a, b]) =>
    keys.includes(a) && keys.includes(b)
  );
  const header = ["scenario", ...keys, ...ratios.map(([label]) => label)];
  const rows: string[][] = [header];
  const summary: Record<string, unknown>[] = [];
  const medianOf = (scenario: string, server: string) => {
    const mine = measurements.filter((m) =>
      m.scenario === scenario && m.server === server
    );
    return mine.length === 0 ? null : median(mine.map((m) => m.value));
  };
  for (const scenario of scenarios) {
    const cells = keys.map((key) => {
      const value = medianOf(scenario.key, key);
      const busy = measurements.some((m) =>
        m.scenario === scenario.key && m.server === key &&
        (m.otherCpuPercent ?? 0) > BUSY_PERCENT
      );
      return value === null
        ? "-"
        : `${formatValue(scenario, value)}${busy ? "*" : ""}`;
    });
    const ratioCells = ratios.map(([, a, b]) => {
      const top = medianOf(scenario.key, a);
      const bottom = medianOf(scenario.key, b);
      return top === null || bottom === null || bottom === 0
        ? "-"
        : `${(top / bottom).toFixed(2)}×`;
    });
    rows.push([`${scenario.key}. ${scenario.title}`, ...cells, ...ratioCells]);
    for (const key of keys) {
      const mine = measurements.filter((m) =>
        m.scenario === scenario.key && m.server === key
      );
      if (mine.length === 0) continue;
      const med = (pick: (m: Measurement) => number | null | undefined) =>
        knownMedian(mine.map((m) => pick(m) ?? null));
      summary.push({
        scenario: scenario.key,
        server: key,
        median: Number(median(mine.map((m) => m.value)).toFixed(3)),
        perRound: mine.map((m) => Number(m.value.toFixed(3))),
        p50Ms: med((m) => m.p50Ms),
        p99Ms: med((m) => m.p99Ms),
        p999Ms: med((m) => m.p999Ms),
        serverMicrosPerOp: med((m) => m.serverMicrosPerRoundTrip),
        serverCpuPercent: med((m) => m.serverCpuPercent),
        clientCpuPercent: med((m) => m.clientCpuPercent),
        otherCpuPercent: med((m) => m.otherCpuPercent),
        perSocket: mine.flatMap((m) => m.perSocket ?? []),
      });
    }
  }
  console.log(`\nMedian of ${rounds} round(s); ratios of the medians`);
  console.log(table(rows));

  // Server CPU time per operation: steadier than rates on a busy machine.
  const micros = (scenario: string, server: string) =>
    (summary.find((e) => e.scenario === scenario && e.server === server)
      ?.serverMicrosPerOp ?? null) as number | null;
  const cost: string[][] = [[
    "scenario",
    ...keys,
    ...ratios.map(([label]) => label),
  ]];
  for (const scenario of scenarios) {
    if (scenario.kind === "idle") continue;
    cost.push([
      scenario.key,
      ...keys.map((key) => {
        const value = micros(scenario.key, key);
        return value === null ? "-" : value.toFixed(value >= 100 ? 0 : 1);
      }),
      ...ratios.map(([, a, b]) => {
        const mine = micros(scenario.key, a);
        const base = micros(scenario.key, b);
        return mine === null || base === null || mine === 0
          ? "-"
          : `${(base / mine).toFixed(2)}×`;
      }),
    ]);
  }
  if (cost.length > 1) {
    console.log(
      "\nServer CPU µs per operation (message echoed, or handshake cycle); " +
        "ratios at equal CPU (the other's µs over this one's: the rate " +
        "ratio if each had a core to itself)",
    );
    console.log(table(cost));
  }

  // Latency, fairness and CPU, per scenario and server.
  const detail: string[][] = [[
    "scenario",
    "server",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "p99.9/p50",
    "echoes/socket min..max",
    "srv µs/op",
    "srv CPU",
    "cli CPU",
    "other CPU",
  ]];
  for (const entry of summary) {
    const scenario = SCENARIOS.find((s) => s.key === entry.scenario)!;
    if (scenario.kind === "idle") continue;
    const p50 = entry.p50Ms as number | null;
    const p999 = entry.p999Ms as number | null;
    const perSocket = entry.perSocket as { min: number; max: number }[];
    const percent = (value: unknown) =>
      value === null ? "-" : `${Math.round(value as number)}%`;
    detail.push([
      scenario.key,
      entry.server as string,
      formatMs(p50),
      formatMs(entry.p99Ms as number | null),
      formatMs(p999),
      p50 === null || p999 === null || p50 === 0
        ? "-"
        : `${(p999 / p50).toFixed(1)}×`,
      perSocket.length === 0
        ? "-"
        : `${median(perSocket.map((p) => p.min))}..${
          median(perSocket.map((p) => p.max))
        }`,
      entry.serverMicrosPerOp === null
        ? "-"
        : (entry.serverMicrosPerOp as number).toFixed(1),
      percent(entry.serverCpuPercent),
      percent(entry.clientCpuPercent),
      percent(entry.otherCpuPercent),
    ]);
  }
  if (detail.length > 1) {
    console.log(
      "\nLatency (message queued to echo whole; handshakes: the whole cycle), " +
        "medians over rounds",
    );
    console.log(table(detail, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10])));
  }

  console.log("\nMarkdown:\n");
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|---|${header.slice(1).map(() => "---:").join("|")}|`);
  for (const row of rows.slice(1)) console.log(`| ${row.join(" | ")} |`);
  console.log(
    `\nmsgs/s and handshakes/s per second of the window; MB/s: payload bytes ` +
      `echoed per second (10^6 B a MB, each round trip once); KiB/conn: ` +
      `(RSS after − RSS before) / idle connections, lower is better.\n` +
      `*: in some round other processes used more than ${BUSY_PERCENT}% of ` +
      `a core during the window.`,
  );

  finish(
    {
      bench: "echo_scenarios",
      deno: Deno.version.deno,
      cpus: navigator.hardwareConcurrency,
      rounds,
      seconds,
      warmup,
      idleConnections,
      pinned: pinning,
      ...(v8Flags === undefined ? {} : { v8Flags }),
      results: summary,
    },
    problems,
    totalErrors,
  );
}

await main();
