/**
 * Client load benchmark (issue 5, item 9): round trips per second (and MB/s)
 * of socketry's client, `connect()`, against Node's `ws` client, talking to
 * the same echo server, measured in one run with the clients interleaved, so
 * that the ratio holds even when the machine's speed drifts.
 *
 *     deno run -A bench/client_load.ts [--server ws|engine|native|raw]
 *         [--clients socketry,ws] [--baseline ws] [--connections 20]
 *         [--inflight 4] [--seconds 5] [--warmup 1] [--rounds 3]
 *         [--sizes 64:text,16384:text,1048576:binary] [--goal 1.0]
 *         [--socketry-mod PATH]
 *
 * The figures of issue 5 (the defaults; `node_modules/deno/deno` in this
 * repository):
 *
 *     deno run -A bench/client_load.ts --rounds 3
 *
 * One echo server runs for the whole run, a child process on a port the
 * system picks (`--port 0`, read back from its `Listening on` line), so
 * that every client meets the very same server:
 *
 * - `ws` (default): `bench/servers/ws_echo.mjs`, Node's `ws` server, run
 *   with `node` (the cheapest server here, so the clients set the pace);
 * - `engine`: `examples/echo/main.ts --backend engine`, socketry's engine;
 * - `native`: `examples/echo/main.ts` on Deno's own WebSocket;
 * - `raw`: `bench/servers/raw_deno_echo.ts`, bare `Deno.upgradeWebSocket`.
 *
 * The clients (`--clients`), each a fresh child process per measurement:
 *
 * - `socketry`: `bench/clients/socketry_client.ts`, `connect()` from
 *   `mod.ts` run by Deno, a `message` listener per socket;
 * - `ws`: `bench/clients/ws_client.mjs`, `new WebSocket(url)` of the `ws`
 *   package run by `node`, `ws.on("message", ...)`, text turned into a
 *   string with `data.toString()` (what socketry hands out). Without the
 *   optional `bufferutil` addon (not installed here), `ws` masks in
 *   JavaScript.
 *
 * Both clients run the same code around the library (`bench/clients/
 * common.mjs`): each opens `--connections` sockets and keeps `--inflight`
 * messages outstanding on each (every echo sends one more); each echo must
 * be exactly what was sent in that position (same type, same string or
 * bytes, in order: a socket cycles through 8 fixed messages, so a stale or
 * reordered echo is caught too). Round trips are counted over `--seconds`
 * after `--warmup` seconds. `--sizes` lists `SIZE[:text|binary]` (`K` and
 * `M` suffixes allowed: `64,16K,1M:binary`); the payload is printable ASCII,
 * the same bytes for every client.
 *
 * For each size and round, every client gets one measurement, in an order
 * rotated by one each round (AB, BA, ...). Each client reads its own CPU
 * time and the server's from `/proc/<pid>/stat` at the window's edges (all
 * threads, 10 ms ticks), and the whole machine's from `/proc/stat`:
 *
 * - `cli µs/rt`: the client's CPU time per round trip, the figure that says
 *   what a client costs whether or not it is the bottleneck (on a busy or
 *   2-core machine, client and server share the cores);
 * - `srv µs/rt`: the server's, which should not depend on the client;
 * - `other CPU`: the rest of the machine; `*` marks a round where it passed
 *   25% of a core (a disturbed measurement).
 *
 * MB/s is payload bytes echoed per second (round trips/s × size, 10^6 bytes
 * a MB): what crossed the wire in each direction, not both summed. Ratios
 * are over `--baseline` (`ws`): `ratio` is median over median, `paired` the
 * median (and range) over rounds of the ratio within a round (`quiet
 * paired`: the same over the rounds where neither measurement was
 * disturbed), `cpu ratio`
 * the client's median µs/rt over the baseline's (below 1: cheaper). The
 * spread of a client is (max − min) / median of its rounds. The verdict
 * against `--goal` uses the paired ratio, which a drift of the machine's
 * speed between rounds does not skew.
 *
 * `--socketry-mod PATH` runs the socketry clients on another copy of
 * socketry than this checkout's `mod.ts`, such as a commit's snapshot
 * (`git archive HEAD mod.ts lib deno.json | tar -x -C /tmp/head`, then
 * `--socketry-mod /tmp/head/mod.ts`): the header says which, and whether
 * this checkout's `lib/` has uncommitted changes.
 *
 * Prints a line per measurement, a table per size, the verdicts and a JSON
 * summary line. Exits 1 when an echo mismatched, a connection failed or
 * closed early, or the server or a client misbehaved. A client that runs
 * past `--warmup + --seconds + 45` s is killed; the server is killed by PID
 * at the end, also on failure or Ctrl-C. Only this run's children are ever
 * signalled.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ClientErrors, ClientReport } from "./clients/common.mjs";
import {
  benchFile,
  measureThenStopAll,
  nodeVersion,
  positive,
  runForReport,
  type Script,
  scriptCommand,
  stopAllOnSignal,
} from "./helpers/children.ts";
import { BUSY_PERCENT, type CpuFigures, cpuFigures } from "./helpers/cpu.ts";
import {
  ECHO_SERVERS,
  type RunningServer,
  type ServerSpec,
  startEchoServer,
} from "./helpers/echo_servers.ts";
import { addCounts, finish } from "./helpers/outcome.ts";
import { measureInTurns, pairedRatios, rateFigures } from "./helpers/rounds.ts";
import {
  known,
  knownMedian,
  median,
  rounded,
  spread,
} from "./helpers/stats.ts";
import {
  formatBytes,
  formatMegabytes,
  formatRate,
  table,
} from "./helpers/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    server: { type: "string", default: "ws" },
    clients: { type: "string", default: "socketry,ws" },
    baseline: { type: "string", default: "ws" },
    connections: { type: "string", default: "20" },
    inflight: { type: "string", default: "4" },
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    sizes: { type: "string", default: "64:text,16384:text,1048576:binary" },
    goal: { type: "string", default: "1.0" },
    "socketry-mod": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const USAGE =
  "Usage: deno run -A bench/client_load.ts [--server ws|engine|native|raw] [--clients socketry,ws] [--baseline ws] [--connections 20] [--inflight 4] [--seconds 5] [--warmup 1] [--rounds 3] [--sizes 64:text,16384:text,1048576:binary] [--goal 1.0] [--socketry-mod PATH]";

if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

const connections = positive("connections", values.connections, true, usage);
const inflight = positive("inflight", values.inflight, true, usage);
const seconds = positive("seconds", values.seconds, false, usage);
const rounds = positive("rounds", values.rounds, true, usage);
const goal = positive("goal", values.goal, false, usage);
const warmup = Number(values.warmup);
if (!(warmup >= 0)) usage(`--warmup must be >= 0, got ${values.warmup}`);

interface SizeSpec {
  readonly size: number;
  readonly binary: boolean;
}

function parseSize(text: string): SizeSpec {
  const match = /^(\d+)\s*(k|kib|m|mib)?(?::(text|binary))?$/i.exec(
    text.trim(),
  );
  if (match === null) {
    usage(`--sizes: ${text} is not SIZE[K|M][:text|binary]`);
  }
  const unit = (match[2] ?? "").toLowerCase();
  const size = Number(match[1]) *
    (unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1048576 : 1);
  if (!(size > 0)) usage(`--sizes: ${text} is not a positive size`);
  return { size, binary: (match[3] ?? "text").toLowerCase() === "binary" };
}

const sizes = values.sizes.split(",").map(parseSize);

// ---- servers and clients --------------------------------------------------------

const SERVERS: readonly ServerSpec[] = [
  ECHO_SERVERS.ws,
  ECHO_SERVERS.engine,
  ECHO_SERVERS.native,
  ECHO_SERVERS.raw,
];

const CLIENTS: readonly Script[] = [
  {
    key: "socketry",
    label: "socketry connect() (events), Deno",
    runtime: "deno",
    script: benchFile("./clients/socketry_client.ts"),
    args: [],
  },
  {
    key: "ws",
    label: "ws client, Node",
    runtime: "node",
    script: benchFile("./clients/ws_client.mjs"),
    args: [],
  },
];

const serverSpec = SERVERS.find((spec) => spec.key === values.server) ??
  usage(
    `--server: unknown server ${values.server} (use ${
      SERVERS.map((s) => s.key).join(", ")
    })`,
  );
const clientSpecs = values.clients.split(",").map((text) => {
  const key = text.trim();
  return CLIENTS.find((spec) => spec.key === key) ??
    usage(
      `--clients: unknown client ${key} (use ${
        CLIENTS.map((c) => c.key).join(", ")
      })`,
    );
});
if (new Set(clientSpecs.map((c) => c.key)).size !== clientSpecs.length) {
  usage("--clients: a client is named twice");
}
const baseline = values.baseline;
if (!clientSpecs.some((c) => c.key === baseline)) {
  usage(`--baseline ${baseline} is not among the clients`);
}
const socketryMod = values["socketry-mod"] === undefined
  ? undefined
  : await Deno.realPath(values["socketry-mod"]).catch(() =>
    usage(`--socketry-mod: ${values["socketry-mod"]} does not exist`)
  );

// ---- children -------------------------------------------------------------------

async function measure(
  spec: Script,
  server: RunningServer,
  size: SizeSpec,
): Promise<ClientReport> {
  const loadArgs = [
    "--url",
    server.url,
    "--size",
    String(size.size),
    ...(size.binary ? ["--binary"] : []),
    "--connections",
    String(connections),
    "--inflight",
    String(inflight),
    "--seconds",
    String(seconds),
    "--warmup",
    String(warmup),
    "--server-pid",
    String(server.child.pid),
    ...spec.args,
    ...(spec.key === "socketry" && socketryMod !== undefined
      ? ["--mod", socketryMod]
      : []),
  ];
  // Deno grants /proc files only with all permissions.
  const [command, args] = scriptCommand(spec, loadArgs, "--allow-all");
  const limit = (warmup + seconds) * 1000 + 45_000;
  return JSON.parse(
    await runForReport(command, args, limit, `${spec.key} client`),
  ) as ClientReport;
}

// ---- figures --------------------------------------------------------------------

interface Measurement extends CpuFigures {
  readonly size: number;
  readonly binary: boolean;
  readonly round: number;
  readonly position: number;
  readonly client: string;
  readonly runtime: string;
  readonly roundTripsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly peakRssBytes: number | null;
}

function formatSize(spec: SizeSpec): string {
  return `${formatBytes(spec.size)} ${spec.binary ? "binary" : "text"}`;
}

function formatMicros(micros: number): string {
  return micros >= 100 ? micros.toFixed(0) : micros.toFixed(1);
}

function formatSpread(value: number | null): string {
  return value === null ? "-" : `±${(50 * value).toFixed(1)}%`;
}

/** This checkout's commit, and whether `lib/` or `mod.ts` differ from it. */
function gitState(): { commit: string; libChanged: boolean } | null {
  const git = (...args: string[]) => {
    const output = new Deno.Command("git", {
      args,
      cwd: benchFile(".."),
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!output.success) throw new Error(`git ${args[0]} failed`);
    return new TextDecoder().decode(output.stdout).trim();
  };
  try {
    return {
      commit: git("rev-parse", "--short", "HEAD"),
      libChanged: git("status", "--porcelain", "--", "lib", "mod.ts") !== "",
    };
  } catch {
    return null;
  }
}

// ---- the run --------------------------------------------------------------------

async function main(): Promise<void> {
  stopAllOnSignal("children");

  const measurements: Measurement[] = [];
  const problems: string[] = [];
  const totalErrors: ClientErrors = {
    connect: 0,
    mismatch: 0,
    closedEarly: 0,
    socket: 0,
    unanswered: 0,
    closeTimeout: 0,
  };
  const perMeasurement = warmup + seconds + 1.5;
  const estimate = Math.ceil(
    sizes.length * rounds * clientSpecs.length * perMeasurement,
  );
  await measureThenStopAll(problems, async () => {
    const server = await startEchoServer(serverSpec);
    console.log(
      `Client load: ${connections} connections, ${inflight} in flight each, ` +
        `${rounds} round(s) of ${seconds} s after ${warmup} s warm-up; ` +
        `Deno ${Deno.version.deno}, Node ${nodeVersion()}, ` +
        `${navigator.hardwareConcurrency} CPU(s); about ${estimate} s`,
    );
    console.log(
      `  server: ${serverSpec.label} on ${server.url} (pid ${server.child.pid})`,
    );
    const git = gitState();
    console.log(
      `  socketry: ${socketryMod ?? benchFile("../mod.ts")}${
        git === null
          ? ""
          : socketryMod !== undefined
          ? ` (not this checkout, which is at ${git.commit})`
          : ` (this checkout, at ${git.commit}${
            git.libChanged ? " with uncommitted changes in lib/ or mod.ts" : ""
          })`
      }`,
    );
    for (const spec of clientSpecs) {
      console.log(
        `  client ${spec.key.padEnd(22)} ${spec.label}`,
      );
    }
    await measureInTurns(
      sizes,
      rounds,
      clientSpecs,
      async (size, round, position, spec) => {
        if (server.exited) {
          throw new Error(
            `the server exited:\n${server.output.join("\n")}`,
          );
        }
        const report = await measure(spec, server, size);
        addCounts(totalErrors, report.errors);
        if (report.firstError !== null) {
          problems.push(
            `${spec.key}, ${formatSize(size)}, round ${
              round + 1
            }: ${report.firstError}`,
          );
        }
        const rate = report.seconds > 0
          ? report.roundTrips / report.seconds
          : 0;
        const m: Measurement = {
          size: size.size,
          binary: size.binary,
          round,
          position,
          client: spec.key,
          runtime: report.runtime,
          roundTripsPerSecond: rate,
          megabytesPerSecond: (rate * size.size) / 1e6,
          ...cpuFigures(report),
          peakRssBytes: report.peakRssBytes,
        };
        measurements.push(m);
        const cpu = (label: string, value: number | null, unit = "%") =>
          value === null
            ? ""
            : `  ${label} ${
              unit === "%" ? Math.round(value) : formatMicros(value)
            }${unit}`;
        console.log(
          `  ${formatSize(size).padStart(15)}  round ${round + 1}  ${
            spec.key.padEnd(13)
          } ${formatRate(rate).padStart(9)} msg/s ${
            formatMegabytes(m.megabytesPerSecond).padStart(7)
          } MB/s` +
            cpu("cli", m.clientMicrosPerRoundTrip, " µs/rt") +
            cpu("srv", m.serverMicrosPerRoundTrip, " µs/rt") +
            cpu("cli CPU", m.clientCpuPercent) +
            cpu("srv CPU", m.serverCpuPercent) +
            cpu("other", m.otherCpuPercent) +
            (report.firstError === null ? "" : `  ERROR ${report.firstError}`),
        );
      },
    );
  });

  // ---- report ---------------------------------------------------------------
  const summary: Record<string, unknown>[] = [];
  const verdicts: string[] = [];
  for (const size of sizes) {
    const of = (key: string) =>
      measurements.filter((m) =>
        m.size === size.size && m.binary === size.binary && m.client === key
      );
    const base = of(baseline);
    const baseMicrosMedian = knownMedian(
      base.map((m) => m.clientMicrosPerRoundTrip),
    );
    const rows: string[][] = [[
      "client",
      "msg/s",
      "msg/s per round",
      "spread",
      "MB/s",
      "ratio",
      "paired (range)",
      "quiet paired",
      "cli µs/rt",
      "spread",
      "cpu ratio",
      "srv µs/rt",
      "cli CPU",
      "other",
      "peak RSS",
    ]];
    for (const spec of clientSpecs) {
      const mine = of(spec.key);
      if (mine.length === 0) continue;
      const { rates, rate, megabytes, ratio, pairs, paired } = rateFigures(
        mine,
        base,
      );
      // The same, over the rounds where neither measurement was disturbed.
      const quiet = (m: Measurement) =>
        m.otherCpuPercent !== null && m.otherCpuPercent <= BUSY_PERCENT;
      const quietPairs = pairedRatios(
        mine,
        base,
        (m) => m.roundTripsPerSecond,
        (m, other) => m.round === other.round && quiet(m) && quiet(other),
      );
      const quietPaired = knownMedian(quietPairs);
      const micros = known(mine.map((m) => m.clientMicrosPerRoundTrip));
      const microsMedian = knownMedian(micros);
      const cpuRatio = microsMedian === null || baseMicrosMedian === null
        ? null
        : microsMedian / baseMicrosMedian;
      const serverMicrosMedian = knownMedian(
        mine.map((m) => m.serverMicrosPerRoundTrip),
      );
      const clientCpu = known(mine.map((m) => m.clientCpuPercent));
      const other = known(mine.map((m) => m.otherCpuPercent));
      const rss = known(mine.map((m) => m.peakRssBytes));
      const disturbed = mine.some((m) =>
        (m.otherCpuPercent ?? 0) > BUSY_PERCENT
      );
      rows.push([
        spec.key,
        formatRate(rate),
        mine.map((m) =>
          formatRate(m.roundTripsPerSecond) +
          ((m.otherCpuPercent ?? 0) > BUSY_PERCENT ? "*" : "")
        ).join(" / "),
        formatSpread(spread(rates)),
        formatMegabytes(megabytes),
        ratio === null ? "-" : ratio.toFixed(3),
        paired === null
          ? "-"
          : `${paired.toFixed(3)} (${Math.min(...pairs).toFixed(2)}–${
            Math.max(...pairs).toFixed(2)
          })`,
        quietPaired === null
          ? "-"
          : `${quietPaired.toFixed(3)} (${quietPairs.length})`,
        microsMedian === null ? "-" : formatMicros(microsMedian),
        formatSpread(spread(micros)),
        cpuRatio === null ? "-" : cpuRatio.toFixed(3),
        serverMicrosMedian === null ? "-" : formatMicros(serverMicrosMedian),
        clientCpu.length === 0 ? "-" : `${Math.round(median(clientCpu))}%`,
        other.length === 0 ? "-" : `${Math.round(median(other))}%`,
        rss.length === 0
          ? "-"
          : `${Math.round(Math.max(...rss) / 1048576)} MiB`,
      ]);
      summary.push({
        size: size.size,
        type: size.binary ? "binary" : "text",
        client: spec.key,
        runtime: mine[0]!.runtime,
        messagesPerSecond: rates.map(Math.round),
        median: Math.round(rate),
        megabytesPerSecond: Number(megabytes.toFixed(3)),
        spread: rounded(spread(rates), 4),
        ratio: rounded(ratio, 4),
        pairedRatios: pairs.map((p) => Number(p.toFixed(4))),
        quietPairedRatios: quietPairs.map((p) => Number(p.toFixed(4))),
        clientMicrosPerRoundTrip: micros.map((v) => Number(v.toFixed(2))),
        clientMicrosMedian: rounded(microsMedian, 2),
        cpuRatio: rounded(cpuRatio, 4),
        serverMicrosMedian: rounded(serverMicrosMedian, 2),
        peakRssBytes: rss.length === 0 ? null : Math.max(...rss),
        disturbed,
      });
      if (spec.key !== baseline && ratio !== null) {
        verdicts.push(
          `${spec.key}/${baseline} ${formatSize(size)}: ${
            ratio.toFixed(3)
          }× in msg/s and MB/s (paired ${paired?.toFixed(3) ?? "-"}×, ${
            Math.min(...pairs).toFixed(2)
          }–${Math.max(...pairs).toFixed(2)} over rounds${
            quietPaired === null
              ? ""
              : `; ${
                quietPaired.toFixed(3)
              }× over ${quietPairs.length} quiet round(s)`
          })${
            cpuRatio === null
              ? ""
              : `, client CPU per round trip ${
                cpuRatio.toFixed(2)
              }× ${baseline}'s`
          }: ${
            (paired ?? ratio) >= goal ? "meets" : "MISSES"
          } the ${goal}× goal${
            disturbed ||
              base.some((m) => (m.otherCpuPercent ?? 0) > BUSY_PERCENT)
              ? " (disturbed rounds: trust the CPU ratio more)"
              : ""
          }`,
        );
      }
    }
    if (rows.length > 1) {
      console.log(
        `\n${formatSize(size)}, ${connections} connections × ${inflight} ` +
          `in flight, server ${serverSpec.key}; ratios over ${baseline}`,
      );
      console.log(
        table(rows, new Set([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])),
      );
    }
  }
  console.log(
    `\nmsg/s: median round trips per second over rounds; MB/s: × size, 10^6 B ` +
      `a MB, each direction. spread: ±half the range over the median.\n` +
      `ratio: median over ${baseline}'s median (msg/s and MB/s alike); ` +
      `paired: median of the per-round ratios (range in brackets); quiet ` +
      `paired: the same over undisturbed rounds only (their number).\n` +
      `cli/srv µs/rt: client/server CPU time per round trip (all threads); ` +
      `cpu ratio: client µs/rt over ${baseline}'s (< 1: cheaper).\n` +
      `cli CPU, other: % of one core in the window (other: the rest of the ` +
      `machine; *: a round where it passed ${BUSY_PERCENT}%).`,
  );
  if (verdicts.length > 0) console.log(`\n${verdicts.join("\n")}`);

  finish(
    {
      bench: "client_load",
      deno: Deno.version.deno,
      node: nodeVersion(),
      cpus: navigator.hardwareConcurrency,
      server: serverSpec.key,
      clients: clientSpecs.map((c) => c.key),
      socketry: socketryMod ?? benchFile("../mod.ts"),
      git: gitState(),
      baseline,
      connections,
      inflight,
      seconds,
      warmup,
      rounds,
      sizes: sizes.map((s) => `${s.size}:${s.binary ? "binary" : "text"}`),
      goal,
      results: summary,
    },
    problems,
    totalErrors,
  );
}

await main();
