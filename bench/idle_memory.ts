/**
 * Memory per idle connection: how much a server's resident memory grows for
 * each open WebSocket that does nothing, for socketry's two backends beside
 * Node's `ws` (issue 3).
 *
 *     deno run -A bench/idle_memory.ts [--connections 2000] [--clients 2]
 *         [--servers native,engine,ws] [--rounds 1] [--settle 3]
 *         [--samples 5] [--message] [--compression] [--extra NAME=SCRIPT]...
 *
 * Memory per compressed connection (issue 4 item 7), after one compressed
 * echo each so that both zlib streams of every connection exist:
 *
 *     deno run -A bench/idle_memory.ts --servers engine,ws --compression \
 *         --message --connections 500 --rounds 3
 *
 * The servers (each its own child process, on a port the system picks):
 *
 * - `native`: the sample, `examples/echo/main.ts` (`Deno.serve` and Deno's
 *   own WebSocket under socketry);
 * - `engine`: the sample with `--backend engine` (socketry's RFC 6455
 *   engine on `node:http`);
 * - `ws`: `bench/servers/ws_echo.mjs`, Node's `ws`, run with `node`;
 * - `raw` (only when named): `bench/servers/raw_deno_echo.ts`, bare
 *   `Deno.upgradeWebSocket`, to tell Deno's own share from socketry's;
 * - with `--compression`, `engine` runs with the sample's `--compression`
 *   and `ws` with its `--compression` (permessage-deflate, ws's defaults);
 *   `native` and `raw` cannot compress and are refused;
 * - `--extra NAME=SCRIPT`: any script taking `--port` and `--hostname`
 *   (and `--compression`, passed on with `--compression`), printing the
 *   `Listening on` line and accepting WebSockets on `/ws` (a patched copy
 *   of socketry, say); `.mjs`, `.cjs` and `.js` scripts run with `node`,
 *   the rest with Deno.
 *
 * For each round and each server (the order rotated by one each round), one
 * server at a time:
 *
 * 1. start it and wait for its `Listening on` line; after `--settle`
 *    seconds read its RSS (`startup`);
 * 2. warm it up: 20 connections that each echo one message and close, so
 *    that code loaded and compiled on first use (the upgrade path, `node:http`
 *    for the engine) is not billed to the idle connections; after
 *    `--settle` seconds read the RSS again (`before`);
 * 3. open `--connections` sockets from `--clients` client child processes
 *    (this file with `--as-client`; so the clients' memory is not the
 *    server's), at most 100 handshakes at a time. Each socket completes the
 *    opening handshake and then stays idle (with `--message` it first
 *    echoes one 64-byte text message), answering pings with pongs;
 *    with `--compression` it offers plain `permessage-deflate` and fails
 *    unless the server agrees, and its `--message` is 1 KiB of JSON
 *    (`makeJsonMessages` in `bench/helpers/deflate_client.ts`) sent compressed
 *    (RSV1, raw DEFLATE from `node:zlib`), whose echo must come back
 *    compressed and inflate to the same text. Servers create their zlib
 *    streams on first use (socketry and ws alike), so handshake-only shows
 *    the negotiated state and `--message` the state with both streams (the
 *    client frees its own at once);
 * 4. check in `/proc/PID/fd` that the server holds that many more sockets,
 *    wait `--settle` seconds, read the RSS (`after`);
 * 5. kill the clients, then the server, by PID.
 *
 * An RSS reading is the median of `--samples` reads of `VmRSS` (and
 * `RssAnon`) in `/proc/PID/status`, 400 ms apart: there is no way to make a
 * server collect its garbage from outside, so the settle time and the median
 * stand in for it. The result is `(after − before) / connections`, in KiB
 * per connection; `(after − startup) / connections` is shown beside it. Linux
 * only.
 *
 * The file-descriptor limit (`ulimit -n`, inherited by every child) must
 * leave room for the server's sockets and each client's: the run refuses to
 * start otherwise. Exits 1 when a connection failed or a server misbehaved.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  DEFLATE_OFFER,
  makeJsonMessages,
  parseDeflateResponse,
  SyncDeflater,
  SyncInflater,
} from "./helpers/deflate_client.ts";
import {
  children,
  collectLines,
  delay,
  killChild,
  positive,
  scriptCommand,
  spawnChild,
  stopChild,
  within,
} from "./helpers/children.ts";
import {
  ECHO_SERVERS,
  pickServers,
  type ServerSpec,
  startEchoServer,
} from "./helpers/echo_servers.ts";
import { finish, messageOf } from "./helpers/outcome.ts";
import {
  clientFrame,
  handshake,
  headerValue,
  payloadOffset,
  UnitReader,
  writeAll,
} from "./helpers/raw_client.ts";
import {
  openFileLimit,
  readMemory,
  sampleMemory,
  socketCount,
} from "./helpers/memory.ts";
import { rotated } from "./helpers/rounds.ts";
import { median } from "./helpers/stats.ts";
import { table } from "./helpers/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "2000" },
    clients: { type: "string", default: "2" },
    servers: { type: "string", default: "native,engine,ws" },
    rounds: { type: "string", default: "1" },
    settle: { type: "string", default: "3" },
    samples: { type: "string", default: "5" },
    message: { type: "boolean", default: false },
    compression: { type: "boolean", default: false },
    extra: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", short: "h", default: false },
    // Internal: run as one client process.
    "as-client": { type: "boolean", default: false },
    url: { type: "string" },
    count: { type: "string" },
  },
});

if (values.help) {
  console.log(
    "Usage: deno run -A bench/idle_memory.ts [--connections 2000] [--clients 2] [--servers native,engine,ws] [--rounds 1] [--settle 3] [--samples 5] [--message] [--compression] [--extra NAME=SCRIPT]...",
  );
  Deno.exit(0);
}

// ---- client -------------------------------------------------------------------

/**
 * The message each socket echoes with `--message`: 64 bytes, or with
 * `--compression` 1 KiB of JSON, sent compressed.
 */
const MESSAGE = values.compression
  ? makeJsonMessages(1024, 1)[0]!
  : "idle-memory probe: 64 bytes of printable ASCII, echoed once..".padEnd(
    64,
    ".",
  );

/**
 * One idle client socket: the opening handshake over `Deno.connect`, then
 * (with `echo`) one text message and its echo, then a read loop that only
 * answers pings, until the process is killed.
 */
class IdleConn {
  #conn: Deno.TcpConn | undefined;
  #reader: UnitReader | undefined;
  closed = false;

  async open(url: URL, echo: boolean): Promise<void> {
    const conn = await Deno.connect({
      hostname: url.hostname,
      port: Number(url.port),
    });
    this.#conn = conn;
    const reader = this.#reader = new UnitReader(conn);
    try {
      const lines = await handshake(
        url,
        values.compression ? DEFLATE_OFFER : undefined,
        (bytes) => writeAll(conn, bytes),
        () => reader.head(),
      );
      if (values.compression) {
        // Throws, failing the socket, unless permessage-deflate was agreed.
        parseDeflateResponse(headerValue(lines, "sec-websocket-extensions"));
      }
      if (echo) {
        const message = new TextEncoder().encode(MESSAGE);
        if (values.compression) {
          // One compressed message each way, so that the server has both
          // its zlib streams; this client frees its own right after.
          const deflater = new SyncDeflater();
          const compressed = deflater.deflate(message).slice();
          deflater.close();
          await writeAll(conn, clientFrame(0x1, compressed, { rsv1: true }));
        } else {
          await writeAll(conn, clientFrame(0x1, message));
        }
        const frame = await reader.frame();
        let payload = frame.subarray(payloadOffset(frame));
        if (values.compression) {
          if (frame[0] !== 0xc1) {
            throw new Error(
              `the echo is not a compressed text frame (first byte ${
                frame[0]
              })`,
            );
          }
          const inflater = new SyncInflater(message.byteLength);
          payload = inflater.inflate(payload).slice();
          inflater.close();
        } else if (frame[0] !== 0x81) {
          throw new Error(
            `the echo is not a text frame (first byte ${frame[0]})`,
          );
        }
        if (new TextDecoder().decode(payload) !== MESSAGE) {
          throw new Error("the echo differs from the message");
        }
      }
    } catch (error) {
      conn.close();
      throw error;
    }
    this.#idle();
  }

  /** Waits for frames: answers pings, and notes when the server goes. */
  async #idle(): Promise<void> {
    try {
      while (true) {
        const frame = await this.#reader!.frame();
        const opcode = frame[0]! & 0x0f;
        if (opcode === 0x9) {
          await writeAll(
            this.#conn!,
            clientFrame(0xa, frame.subarray(payloadOffset(frame))),
          );
        } else if (opcode === 0x8) break;
      }
    } catch {
      // The server went away.
    }
    this.closed = true;
  }
}

/**
 * Opens `--count` idle sockets, 100 handshakes at a time, prints one JSON
 * line (`{"ready": n, "failed": n, ...}`), then holds them until killed.
 */
async function runClient(): Promise<void> {
  const url = new URL(values.url!);
  const count = positive("count", values.count ?? "");
  const conns: IdleConn[] = [];
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const conn = new IdleConn();
      try {
        const opened = conn.open(url, values.message).then(() => "open");
        if (await within(opened, 20_000, "timeout") === "timeout") {
          opened.catch(() => {});
          throw new Error("no handshake within 20 s");
        }
        conns.push(conn);
      } catch (error) {
        failed++;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(100, count) }, worker));
  console.log(JSON.stringify({
    ready: conns.length,
    failed,
    firstError,
    clientRssKiB: readMemory("self")?.rss ?? null,
  }));
  // Hold the sockets until the controller kills this process.
  setInterval(() => {}, 60_000);
}

// ---- controller -----------------------------------------------------------------

const ALL_SERVERS: readonly ServerSpec[] = [
  ECHO_SERVERS.native,
  ECHO_SERVERS.engine,
  ECHO_SERVERS.ws,
  ECHO_SERVERS.raw,
];

/** Starts client processes holding `total` idle sockets; returns them once all are ready. */
async function openIdle(
  url: string,
  total: number,
  processes: number,
  message: boolean,
): Promise<
  { clients: Deno.ChildProcess[]; failed: number; clientRssKiB: number[] }
> {
  const clients: Deno.ChildProcess[] = [];
  const reports: Promise<string>[] = [];
  for (let i = 0; i < processes; i++) {
    const count = Math.floor(total / processes) +
      (i < total % processes ? 1 : 0);
    if (count === 0) continue;
    const child = spawnChild(
      ...scriptCommand(
        { runtime: "deno", script: fileURLToPath(import.meta.url) },
        [
          "--as-client",
          "--url",
          url,
          "--count",
          String(count),
          ...(message ? ["--message"] : []),
          ...(values.compression ? ["--compression"] : []),
        ],
        "--allow-all",
      ),
    );
    clients.push(child);
    const output: string[] = [];
    const report = Promise.withResolvers<string>();
    collectLines(child.stdout, output, (line) => {
      if (line.startsWith("{")) report.resolve(line);
    });
    collectLines(child.stderr, output);
    child.status.then(() =>
      report.reject(
        new Error(`a client exited early:\n${output.join("\n")}`),
      )
    );
    reports.push(report.promise);
  }
  const lines = await within(Promise.all(reports), 120_000, null);
  if (lines === null) throw new Error("the clients did not open in 120 s");
  let failed = 0;
  const clientRssKiB: number[] = [];
  for (const line of lines) {
    const report = JSON.parse(line) as {
      ready: number;
      failed: number;
      firstError: string | null;
      clientRssKiB: number | null;
    };
    failed += report.failed;
    if (report.firstError !== null) {
      console.error(`  client error: ${report.firstError}`);
    }
    if (report.clientRssKiB !== null) clientRssKiB.push(report.clientRssKiB);
  }
  return { clients, failed, clientRssKiB };
}

interface Result {
  server: string;
  round: number;
  startupKiB: number;
  beforeKiB: number;
  afterKiB: number;
  anonBeforeKiB: number;
  anonAfterKiB: number;
  kibPerConnection: number;
  kibPerConnectionFromStartup: number;
  anonKibPerConnection: number;
  socketsAdded: number;
  /** The client processes' RSS, summed. */
  clientRssKiB: number | null;
}

async function measure(
  spec: ServerSpec,
  round: number,
  connections: number,
  processes: number,
  settleMs: number,
  samples: number,
): Promise<Result> {
  const server = await startEchoServer(
    spec,
    values.compression ? ["--compression"] : [],
  );
  const pid = server.child.pid;
  const clients: Deno.ChildProcess[] = [];
  try {
    await delay(settleMs);
    const startup = await sampleMemory(pid, samples);

    // Warm-up: a few sockets echo one message each, then go away.
    const warm = await openIdle(server.url, 20, 1, true);
    clients.push(...warm.clients);
    if (warm.failed > 0) {
      throw new Error(`${warm.failed} warm-up socket(s) failed`);
    }
    for (const child of warm.clients) await stopChild(child, "SIGKILL", 2_000);
    clients.length = 0;
    await delay(settleMs);
    const socketsBefore = socketCount(pid);
    const before = await sampleMemory(pid, samples);

    const idle = await openIdle(
      server.url,
      connections,
      processes,
      values.message,
    );
    clients.push(...idle.clients);
    if (idle.failed > 0) {
      throw new Error(`${idle.failed} of ${connections} socket(s) failed`);
    }
    await delay(settleMs);
    const socketsAdded = socketCount(pid) - socketsBefore;
    const after = await sampleMemory(pid, samples);
    if (server.child.pid !== pid || readMemory(pid) === null) {
      throw new Error(`the ${spec.key} server is gone`);
    }
    const clientKiB = idle.clientRssKiB.reduce((a, b) => a + b, 0);
    return {
      server: spec.key,
      round,
      startupKiB: startup.rss,
      beforeKiB: before.rss,
      afterKiB: after.rss,
      anonBeforeKiB: before.anon,
      anonAfterKiB: after.anon,
      kibPerConnection: (after.rss - before.rss) / connections,
      kibPerConnectionFromStartup: (after.rss - startup.rss) / connections,
      anonKibPerConnection: (after.anon - before.anon) / connections,
      socketsAdded,
      clientRssKiB: idle.clientRssKiB.length === 0 ? null : clientKiB,
    };
  } finally {
    // Clients first (their sockets drop), then the server, all by PID.
    for (const child of clients) await stopChild(child, "SIGKILL", 2_000);
    await stopChild(server.child, "SIGKILL", 2_000);
  }
}

async function runController(): Promise<void> {
  const connections = positive("connections", values.connections);
  const processes = positive("clients", values.clients);
  const rounds = positive("rounds", values.rounds);
  const settleMs = positive("settle", values.settle, false) * 1000;
  const samples = positive("samples", values.samples);
  const specs = pickServers(
    values.servers,
    values.extra,
    ALL_SERVERS,
    values.compression,
    (_, script) => script,
  );

  // Every child inherits this limit: the server needs a descriptor per
  // socket, each client one per socket it holds, plus a few dozen of their own.
  const limit = openFileLimit();
  const perClient = Math.ceil(connections / processes);
  if (connections + 64 > limit || perClient + 64 > limit) {
    console.error(
      `--connections ${connections} needs ${
        connections + 64
      } file descriptors in the server, but ulimit -n is ${limit}: lower ` +
        "--connections or raise the limit",
    );
    Deno.exit(2);
  }

  const onSignal = () => {
    console.error("Interrupted: stopping the children");
    for (const child of children) killChild(child, "SIGKILL");
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  console.log(
    `Idle memory: ${connections} connections from ${processes} client ` +
      `process(es), ${
        values.message
          ? `one ${
            values.compression ? "1 KiB JSON compressed" : "64 B"
          } echo each, then idle`
          : "handshake only"
      }${
        values.compression
          ? `, permessage-deflate offered (${DEFLATE_OFFER}) and required`
          : ""
      }; settle ${settleMs / 1000} s, median of ${samples} samples; ` +
      `${rounds} round(s); ulimit -n ${limit}; Deno ${Deno.version.deno}, ` +
      `${navigator.hardwareConcurrency} CPU(s)`,
  );
  const results: Result[] = [];
  const problems: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const spec of rotated(specs, round)) {
      try {
        const result = await measure(
          spec,
          round,
          connections,
          processes,
          settleMs,
          samples,
        );
        results.push(result);
        console.log(
          `  round ${round + 1}  ${spec.key.padEnd(7)} ` +
            `${result.kibPerConnection.toFixed(1).padStart(6)} KiB/conn ` +
            `(RSS ${mib(result.beforeKiB)} → ${mib(result.afterKiB)} MiB, ` +
            `+${result.socketsAdded} sockets)`,
        );
        if (result.socketsAdded < connections) {
          problems.push(
            `${spec.key}, round ${
              round + 1
            }: the server holds only ${result.socketsAdded} more sockets, not ${connections}`,
          );
        }
      } catch (error) {
        problems.push(
          `${spec.key}, round ${round + 1}: ${messageOf(error)}`,
        );
        console.log(`  round ${round + 1}  ${spec.key.padEnd(7)} FAILED`);
      }
    }
  }

  const rows: string[][] = [[
    "server",
    "KiB/conn",
    "per round",
    "anon KiB/conn",
    "from startup",
    "RSS startup",
    "RSS before",
    "RSS after",
    "client RSS",
  ]];
  const summary: Record<string, unknown>[] = [];
  for (const spec of specs) {
    const mine = results.filter((r) => r.server === spec.key);
    if (mine.length === 0) continue;
    const of = (pick: (r: Result) => number) => median(mine.map(pick));
    const clientValues = mine.flatMap((r) =>
      r.clientRssKiB === null ? [] : [r.clientRssKiB]
    );
    rows.push([
      `${spec.key} (${spec.label})`,
      of((r) => r.kibPerConnection).toFixed(1),
      mine.map((r) => r.kibPerConnection.toFixed(1)).join(" / "),
      of((r) => r.anonKibPerConnection).toFixed(1),
      of((r) => r.kibPerConnectionFromStartup).toFixed(1),
      `${mib(of((r) => r.startupKiB))} MiB`,
      `${mib(of((r) => r.beforeKiB))} MiB`,
      `${mib(of((r) => r.afterKiB))} MiB`,
      clientValues.length === 0 ? "-" : `${mib(median(clientValues))} MiB`,
    ]);
    summary.push({
      server: spec.key,
      kibPerConnection: Number(of((r) => r.kibPerConnection).toFixed(2)),
      perRound: mine.map((r) => Number(r.kibPerConnection.toFixed(2))),
      anonKibPerConnection: Number(
        of((r) => r.anonKibPerConnection).toFixed(2),
      ),
      kibPerConnectionFromStartup: Number(
        of((r) => r.kibPerConnectionFromStartup).toFixed(2),
      ),
      rssStartupKiB: of((r) => r.startupKiB),
      rssBeforeKiB: of((r) => r.beforeKiB),
      rssAfterKiB: of((r) => r.afterKiB),
      socketsAdded: mine.map((r) => r.socketsAdded),
      clientRssKiB: clientValues.length === 0 ? null : median(clientValues),
    });
  }
  if (rows.length > 1) {
    console.log(
      `\n${connections} idle connections (${
        values.message ? "after one echo" : "handshake only"
      }${
        values.compression ? ", permessage-deflate" : ""
      }), median over ${rounds} round(s)`,
    );
    console.log(table(rows));
    console.log(
      "\nKiB/conn: (VmRSS after − VmRSS before) / connections, before = " +
        "after a 20-socket warm-up.\nanon: the same with RssAnon (private " +
        "memory only). from startup: VmRSS after − VmRSS right after start." +
        "\nclient RSS: the client processes' RSS, summed (separate from the " +
        "server's).",
    );
  }
  finish({
    bench: "idle_memory",
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    connections,
    clients: processes,
    message: values.message,
    compression: values.compression,
    settleSeconds: settleMs / 1000,
    samples,
    rounds,
    results: summary,
  }, problems);
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}

if (values["as-client"]) await runClient();
else await runController();
