/**
 * HTTP/2 load benchmark (issue 6, item 6): 100 WebSockets over ONE HTTP/2
 * connection (RFC 8441 extended CONNECT streams) against 100 WebSockets on
 * 100 HTTP/1.1 connections, talking to the same socketry echo server in one
 * run: the time to open all of them, and echo round trips per second with
 * `--inflight` messages outstanding per socket, reported as h2/h1 ratios.
 *
 *     deno run -A bench/http2_load.ts [--transport tls|h2c|both]
 *         [--sockets 100] [--inflight 4] [--seconds 3] [--warmup 1]
 *         [--rounds 3] [--sizes 64,16K]
 *
 * The figures of issue 6 (`node_modules/deno/deno` in this repository):
 *
 *     deno run -A bench/http2_load.ts --transport both --rounds 3
 *
 * The server: `examples/echo/main.ts --backend engine --http2`, a child
 * process on 127.0.0.1 and a port the system picks (read back from its
 * `Listening on` line), running for the whole run. `tls`: with `--cert` and
 * `--key` from a throwaway CA made by openssl (`tests/helpers/tls.ts`), the
 * clients trusting that CA, ALPN choosing h2 or http/1.1 on the one port;
 * `h2c`: cleartext, h2c prior knowledge or HTTP/1.1 told apart by the
 * preface.
 *
 * The clients: socketry's `connect()`, this very file run again as a child
 * (`--client h2|h1`), a fresh process per measurement. A child process,
 * rather than the bench itself, so that both modes start from the same cold
 * state (JIT, heap, no TLS session to resume: every HTTP/1.1 connection is
 * a full handshake, as for 100 distinct clients), its CPU time can be read
 * apart from the server's, and a stuck client can be killed by its PID.
 *
 * - `h2`: `--sockets` sockets `connect(url, { httpVersion: "2",
 *   versionPolicy: "exact", handler })` through one shared
 *   `ConnectionHandler`, all started at once (they share the first one's
 *   session attempt); checks that every socket has `httpVersion` "2" and
 *   that they all have one local address (one TCP connection);
 * - `h1`: the same with `httpVersion: "1.1"`, each socket on a connection
 *   of its own; checks `httpVersion` "1.1" and `--sockets` distinct local
 *   addresses.
 *
 * `open ms` is the time from starting all the `connect()` calls to the last
 * one resolving (TCP, TLS, HTTP/2 SETTINGS, the handshakes). Then each
 * socket keeps `--inflight` text messages of each `--sizes` size in flight
 * (each echo sends one more); every echo must be exactly the message sent
 * in that position (a socket cycles through 8 distinct messages). Round
 * trips are counted over `--seconds` after `--warmup` seconds. At the
 * window's edges the client reads its own CPU time and the server's from
 * `/proc/<pid>/stat` (all threads, 10 ms ticks): `cli µs/rt` and `srv µs/rt`
 * say what each round trip cost (on a 2-core machine client and server
 * share the cores, so CPU per round trip says more than the rate alone).
 * Then every socket closes (1000) and the handler's session is closed.
 *
 * For each round, size and transport both modes run, in an order rotated
 * each round (h2 h1, h1 h2, ...). Each figure is the median over rounds,
 * with its spread, (max − min) / median. Ratios are h2/h1: `ratio` is median
 * over median, `paired` the median [min–max] over rounds of the ratio within
 * one round (robust to the machine's speed drifting between rounds). An open
 * time ratio below 1 and a rate ratio above 1 favour HTTP/2.
 *
 * Prints a line per measurement, a table per transport and size, and a JSON
 * summary line. Exits 1 when a socket failed, an echo mismatched or a child
 * misbehaved. A client that runs past `--warmup + --seconds + 60` s is
 * killed; the server gets SIGTERM, then SIGKILL, at the end, also on failure
 * or Ctrl-C. Only this run's children are ever signalled.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { connect, ConnectionHandler, type EngineSocket } from "../mod.ts";
import { testCertificates } from "../tests/helpers/tls.ts";
import {
  children,
  delay,
  killChild,
  positive,
  runChild,
  startListening,
  stopAll,
  within,
} from "./helpers/children.ts";
import { cpuMicros } from "./helpers/cpu.ts";
import { pairedRatios } from "./helpers/rounds.ts";
import { knownMedian, median, spread } from "./helpers/stats.ts";
import { formatBytes, table } from "./helpers/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    transport: { type: "string", default: "tls" },
    sockets: { type: "string", default: "100" },
    inflight: { type: "string", default: "4" },
    seconds: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    sizes: { type: "string", default: "64,16K" },
    // Internal: run as a client child.
    client: { type: "string" },
    url: { type: "string" },
    ca: { type: "string" },
    size: { type: "string" },
    "server-pid": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

const USAGE =
  "Usage: deno run -A bench/http2_load.ts [--transport tls|h2c|both] [--sockets 100] [--inflight 4] [--seconds 3] [--warmup 1] [--rounds 3] [--sizes 64,16K]";

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

function parseSize(text: string): number {
  const match = /^(\d+)\s*(k|kib)?$/i.exec(text.trim());
  if (match === null) usage(`--sizes: ${text} is not SIZE[K]`);
  const size = Number(match[1]) * (match[2] === undefined ? 1 : 1024);
  if (!(size > 0)) usage(`--sizes: ${text} is not a positive size`);
  return size;
}

const sockets = positive("sockets", values.sockets, true, usage);
const inflight = positive("inflight", values.inflight, true, usage);
const seconds = positive("seconds", values.seconds, false, usage);
const warmup = Number(values.warmup);
if (!(warmup >= 0)) usage(`--warmup must be >= 0, got ${values.warmup}`);

// ---- the client child -----------------------------------------------------------

/** What a client child prints as its last line. */
interface ClientReport {
  readonly mode: "h2" | "h1";
  readonly openMs: number;
  readonly connections: number;
  readonly roundTrips: number;
  readonly seconds: number;
  readonly clientMicros: number | null;
  readonly serverMicros: number | null;
}

async function runClient(mode: "h2" | "h1"): Promise<void> {
  const url = values.url ?? usage("--client needs --url");
  const size = parseSize(values.size ?? usage("--client needs --size"));
  const serverPid = Number(values["server-pid"]);
  const ca = values.ca === undefined
    ? undefined
    : [await Deno.readTextFile(values.ca)];
  const fail = (message: string): never => {
    console.error(`${mode} client: ${message}`);
    Deno.exit(1);
  };
  // Eight distinct messages of `size` printable ASCII bytes.
  const base = Array.from(
    { length: size },
    (_, i) => String.fromCharCode(33 + (i * 7) % 94),
  ).join("");
  const messages = Array.from(
    { length: 8 },
    (_, i) => String.fromCharCode(65 + i) + base.slice(1),
  );

  const handler = mode === "h2"
    ? new ConnectionHandler(ca === undefined ? {} : { caCerts: ca })
    : undefined;
  const common = {
    connectTimeout: 30_000,
    maxMessageSize: 64 * 1024 * 1024,
  };
  const started = performance.now();
  const opened: EngineSocket[] = await Promise.all(
    Array.from({ length: sockets }, () =>
      mode === "h2"
        ? connect(url, {
          ...common,
          httpVersion: "2",
          versionPolicy: "exact",
          handler: handler!,
        })
        : connect(url, {
          ...common,
          httpVersion: "1.1",
          ...(ca === undefined ? {} : { caCerts: ca }),
        })),
  ).catch((error) => fail(`connect: ${error}`));
  const openMs = performance.now() - started;

  const expected = mode === "h2" ? "2" : "1.1";
  const versions = new Set(opened.map((socket) => socket.httpVersion));
  if (versions.size !== 1 || !versions.has(expected)) {
    fail(`expected every httpVersion ${expected}, got ${[...versions]}`);
  }
  const connections = new Set(opened.map((socket) => socket.localAddress))
    .size;
  if (connections !== (mode === "h2" ? 1 : sockets)) {
    fail(`${sockets} sockets used ${connections} connections`);
  }

  let stopping = false;
  let closing = false;
  let counted = 0;
  let outstanding = 0;
  const idle = Promise.withResolvers<void>();
  for (const socket of opened) {
    let sent = 0;
    let received = 0;
    const send = () => {
      const message = messages[sent++ % 8]!;
      outstanding++;
      socket.send(message).catch((error) => {
        if (!closing) fail(`send: ${error}`);
      });
    };
    socket.addEventListener("message", ({ data }) => {
      if (data !== messages[received++ % 8]) {
        fail(`echo ${received} of a socket is not what was sent`);
      }
      outstanding--;
      counted++;
      if (!stopping) send();
      else if (outstanding === 0) idle.resolve();
    });
    socket.closed.then((outcome) => {
      if (!closing) {
        fail(`a socket closed early: ${outcome.code} ${outcome.reason}`);
      }
    });
    for (let i = 0; i < inflight; i++) send();
  }

  await delay(warmup * 1000);
  const countedBefore = counted;
  const clientBefore = cpuMicros("self");
  const serverBefore = cpuMicros(serverPid);
  const windowStart = performance.now();
  await delay(seconds * 1000);
  const roundTrips = counted - countedBefore;
  const window = (performance.now() - windowStart) / 1000;
  const clientAfter = cpuMicros("self");
  const serverAfter = cpuMicros(serverPid);
  stopping = true;
  if (outstanding > 0) {
    const drained = await Promise.race([
      idle.promise.then(() => true),
      delay(20_000).then(() => false),
    ]);
    if (!drained) fail(`${outstanding} echoes missing after the window`);
  }
  closing = true;
  await Promise.all(opened.map((socket) => socket.close(1000, "done")));
  await handler?.close();

  const report: ClientReport = {
    mode,
    openMs,
    connections,
    roundTrips,
    seconds: window,
    clientMicros: clientBefore === null || clientAfter === null
      ? null
      : clientAfter - clientBefore,
    serverMicros: serverBefore === null || serverAfter === null
      ? null
      : serverAfter - serverBefore,
  };
  console.log(JSON.stringify(report));
  Deno.exit(0); // Nothing may linger: the figures are out.
}

// ---- the bench ------------------------------------------------------------------

type Transport = "tls" | "h2c";

interface Server {
  readonly transport: Transport;
  readonly child: Deno.ChildProcess;
  readonly url: string;
  readonly output: string[];
}

const ECHO = fileURLToPath(
  new URL("../examples/echo/main.ts", import.meta.url),
);
const SELF = fileURLToPath(import.meta.url);

async function startServer(
  transport: Transport,
  files: { cert: string; key: string },
): Promise<Server> {
  const line = transport === "tls"
    ? /^Listening on https:\/\/127\.0\.0\.1:(\d+)\/ \(engine backend, HTTP\/2\)$/
    : /^Listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(engine backend, HTTP\/2 cleartext \(h2c\)\)$/;
  const started = await startListening(
    Deno.execPath(),
    [
      "run",
      "--allow-net",
      "--allow-read",
      "--no-prompt",
      ECHO,
      "--backend",
      "engine",
      "--http2",
      ...(transport === "tls"
        ? ["--cert", files.cert, "--key", files.key]
        : []),
      "--port",
      "0",
      "--hostname",
      "127.0.0.1",
    ],
    (text) => {
      const match = line.exec(text);
      return match === null
        ? undefined
        : `${transport === "tls" ? "wss" : "ws"}://127.0.0.1:${match[1]}/ws`;
    },
    { NO_COLOR: "1" },
  );
  if (started.url === null) {
    throw new Error(
      `the ${transport} echo server did not listen:\n${
        started.output.join("\n")
      }`,
    );
  }
  const { child, url, output } = started;
  return { transport, child, url, output };
}

async function measure(
  mode: "h2" | "h1",
  server: Server,
  size: number,
  caFile: string,
): Promise<ClientReport> {
  const limit = (warmup + seconds) * 1000 + 60_000;
  const { status, output } = await runChild(
    Deno.execPath(),
    [
      "run",
      "--allow-all", // Deno grants /proc files only with all permissions.
      "--no-prompt",
      SELF,
      "--client",
      mode,
      "--url",
      server.url,
      ...(server.transport === "tls" ? ["--ca", caFile] : []),
      "--size",
      String(size),
      "--sockets",
      String(sockets),
      "--inflight",
      String(inflight),
      "--seconds",
      String(seconds),
      "--warmup",
      String(warmup),
      "--server-pid",
      String(server.child.pid),
    ],
    limit,
  );
  const line = output.findLast((text) => text.startsWith("{"));
  if (status === null || !status.success || line === undefined) {
    throw new Error(
      `the ${mode} client ${
        status === null ? `ran past ${limit / 1000} s` : `exited ${status.code}`
      }:\n${output.join("\n")}`,
    );
  }
  return JSON.parse(line) as ClientReport;
}

/** (max − min) / median as a percentage, or `-`. */
function formatSpread(numbers: readonly number[]): string {
  const value = spread(numbers);
  return value === null ? "-" : `${(value * 100).toFixed(0)}%`;
}

function paired(ratios: readonly number[]): string {
  return `${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${
    Math.max(...ratios).toFixed(2)
  }]`;
}

interface Measurement extends ClientReport {
  readonly transport: Transport;
  readonly size: number;
  readonly round: number;
  readonly rate: number;
  readonly clientPerRt: number | null;
  readonly serverPerRt: number | null;
}

async function main(): Promise<void> {
  const transports: Transport[] = values.transport === "both"
    ? ["tls", "h2c"]
    : values.transport === "tls" || values.transport === "h2c"
    ? [values.transport]
    : usage(`--transport must be tls, h2c or both, got ${values.transport}`);
  const rounds = positive("rounds", values.rounds, true, usage);
  const sizes = values.sizes.split(",").map(parseSize);

  const dir = await Deno.makeTempDir({ prefix: "socketry-h2-bench-" });
  const abort = () => {
    stopAll(7_000).finally(() => {
      Deno.removeSync(dir, { recursive: true });
      Deno.exit(130);
    });
  };
  Deno.addSignalListener("SIGINT", abort);
  const measurements: Measurement[] = [];
  try {
    const { ca, cert, key } = await testCertificates();
    const files = {
      ca: `${dir}/ca.pem`,
      cert: `${dir}/cert.pem`,
      key: `${dir}/key.pem`,
    };
    await Deno.writeTextFile(files.ca, ca);
    await Deno.writeTextFile(files.cert, cert);
    await Deno.writeTextFile(files.key, key);
    const servers = new Map<Transport, Server>();
    for (const transport of transports) {
      servers.set(transport, await startServer(transport, files));
    }
    console.log(
      `http2_load: Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores; ${sockets} sockets, ${inflight} in flight each, ${warmup} s warm-up + ${seconds} s per measurement, ${rounds} round(s); servers: ${
        [...servers.values()].map((s) => `${s.transport} ${s.url}`).join(", ")
      }`,
    );
    for (let round = 0; round < rounds; round++) {
      for (const size of sizes) {
        for (const transport of transports) {
          const order: ("h2" | "h1")[] = round % 2 === 0
            ? ["h2", "h1"]
            : ["h1", "h2"];
          for (const mode of order) {
            const report = await measure(
              mode,
              servers.get(transport)!,
              size,
              files.ca,
            );
            const m: Measurement = {
              ...report,
              transport,
              size,
              round,
              rate: report.roundTrips / report.seconds,
              clientPerRt: report.clientMicros === null
                ? null
                : report.clientMicros / report.roundTrips,
              serverPerRt: report.serverMicros === null
                ? null
                : report.serverMicros / report.roundTrips,
            };
            measurements.push(m);
            console.log(
              `round ${round + 1} ${transport} ${
                formatBytes(size)
              } ${mode}: open ${
                m.openMs.toFixed(0)
              } ms (${m.connections} conn), ${m.rate.toFixed(0)} rt/s, cli ${
                m.clientPerRt?.toFixed(1) ?? "?"
              } µs/rt, srv ${m.serverPerRt?.toFixed(1) ?? "?"} µs/rt`,
            );
          }
        }
      }
    }
    for (const server of servers.values()) {
      killChild(server.child, "SIGTERM");
      const status = await within(server.child.status, 10_000, null);
      children.delete(server.child);
      if (status === null || !status.success) {
        killChild(server.child, "SIGKILL");
        throw new Error(
          `the ${server.transport} server did not shut down cleanly:\n${
            server.output.join("\n")
          }`,
        );
      }
    }
  } finally {
    await stopAll(7_000);
    await Deno.remove(dir, { recursive: true });
    Deno.removeSignalListener("SIGINT", abort);
  }

  const summary: Record<string, unknown> = {};
  for (const transport of transports) {
    const of = (mode: string, size?: number) =>
      measurements.filter((m) =>
        m.transport === transport && m.mode === mode &&
        (size === undefined || m.size === size)
      );
    const pairs = (
      size: number | undefined,
      pick: (m: Measurement) => number,
    ) =>
      pairedRatios(
        of("h2", size),
        of("h1", size),
        pick,
        (h2, h1) => h1.round === h2.round && h1.size === h2.size,
      );
    // Opening does not depend on the message size: all measurements count.
    const open = {
      h2: of("h2").map((m) => m.openMs),
      h1: of("h1").map((m) => m.openMs),
    };
    const openPaired = pairs(undefined, (m) => m.openMs);
    console.log(
      `\n${transport}: time to open ${sockets} sockets (${open.h2.length} measurements each)`,
    );
    console.log(table([
      ["mode", "median ms", "spread", "min", "max"],
      ...(["h2", "h1"] as const).map((mode) => [
        mode === "h2" ? "h2 (1 connection)" : `h1 (${sockets} connections)`,
        median(open[mode]).toFixed(1),
        formatSpread(open[mode]),
        Math.min(...open[mode]).toFixed(1),
        Math.max(...open[mode]).toFixed(1),
      ]),
    ]));
    console.log(
      `open time h2/h1: ratio ${
        (median(open.h2) / median(open.h1)).toFixed(2)
      }, paired ${paired(openPaired)}`,
    );
    const perSize: Record<string, unknown> = {};
    for (const size of sizes) {
      const rate = {
        h2: of("h2", size).map((m) => m.rate),
        h1: of("h1", size).map((m) => m.rate),
      };
      const cpu = (mode: string, pick: (m: Measurement) => number | null) =>
        knownMedian(of(mode, size).map(pick));
      const ratePaired = pairs(size, (m) => m.rate);
      console.log(
        `\n${transport}, ${
          formatBytes(size)
        } text, ${inflight} in flight × ${sockets} sockets: echo round trips/s`,
      );
      console.log(table([
        ["mode", "rt/s", "spread", "MB/s", "cli µs/rt", "srv µs/rt"],
        ...(["h2", "h1"] as const).map((mode) => [
          mode,
          median(rate[mode]).toFixed(0),
          formatSpread(rate[mode]),
          (median(rate[mode]) * size / 1e6).toFixed(1),
          cpu(mode, (m) => m.clientPerRt)?.toFixed(1) ?? "?",
          cpu(mode, (m) => m.serverPerRt)?.toFixed(1) ?? "?",
        ]),
      ]));
      console.log(
        `rate h2/h1: ratio ${
          (median(rate.h2) / median(rate.h1)).toFixed(2)
        }, paired ${paired(ratePaired)}`,
      );
      perSize[String(size)] = {
        rtPerSecond: { h2: median(rate.h2), h1: median(rate.h1) },
        ratio: median(rate.h2) / median(rate.h1),
        paired: ratePaired,
        clientMicrosPerRt: {
          h2: cpu("h2", (m) => m.clientPerRt),
          h1: cpu("h1", (m) => m.clientPerRt),
        },
        serverMicrosPerRt: {
          h2: cpu("h2", (m) => m.serverPerRt),
          h1: cpu("h1", (m) => m.serverPerRt),
        },
      };
    }
    summary[transport] = {
      openMs: { h2: median(open.h2), h1: median(open.h1) },
      openRatio: median(open.h2) / median(open.h1),
      openPaired,
      sizes: perSize,
    };
  }
  console.log(
    `\n${JSON.stringify({ sockets, inflight, seconds, rounds, summary })}`,
  );
}

if (values.client !== undefined) {
  if (values.client !== "h2" && values.client !== "h1") {
    usage(`--client must be h2 or h1, got ${values.client}`);
  }
  await runClient(values.client);
} else {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
