/**
 * Fan-out: every receiver in one room, one publisher (itself a member) with
 * 4 messages in flight, 64-byte numbered and timestamped text messages.
 * Each server runs pinned to CPU 0 (`taskset`), this generator should run
 * on CPU 1; servers take turns, one at a time.
 *
 *     taskset -c 1 deno run -A bench/fanout.ts [--receivers 1000,10000]
 *         [--seconds 5] [--servers chat-native,chat-engine,deno,ws,bun]
 *         [--bun PATH] [--workers N] [--server-cpus 0]
 *
 * `--workers N` runs the native chat as N isolates on one port (its own
 * `--workers`, rooms shared through `BroadcastChannel`); give it the cores
 * with `--server-cpus` (a `taskset` list, `0-1`) to compare `--workers 2`
 * with `--workers 1`.
 *
 * Servers: `examples/chat/main.ts` on both backends (room `lobby`),
 * `bench/servers/fanout_deno.ts` (raw `Deno.upgradeWebSocket`, a loop over
 * its sockets), `bench/servers/fanout_ws.mjs` (Node `ws`, a loop over
 * `wss.clients`) and `bench/servers/fanout_bun.ts` (`server.publish`; run
 * when a `bun` binary is found: `--bun`, `node_modules/.bin/bun` or the
 * PATH, and skipped otherwise). Every server includes the sender.
 *
 * The receivers are raw RFC 6455 clients over `Deno.connect`. Each checks
 * that it gets every message once and in order (`lost`, `reordered` count
 * what it did not), and times each delivery from the moment the publisher
 * wrote it (one clock: one process). Reported per server and room size:
 * deliveries per second, p50/p99 delivery latency, the share of messages
 * that reached every member within 250 ms (the method of hashrocket's
 * websocket-shootout), and the server's responsiveness during the storm:
 * p99 time to answer a plain HTTP request sent every 50 ms (event-loop
 * lag, plus one loopback round trip). Then ratios against `ws`, raw Deno
 * and Bun.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  benchFile,
  findBun,
  startListening,
  stopAll,
  stopAllOnSignal,
  stopChild,
} from "./helpers/children.ts";
import { clientFrame, handshake, writeAll } from "./helpers/raw_client.ts";
import { table } from "./helpers/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    receivers: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    servers: {
      type: "string",
      default: "chat-native,chat-engine,deno,ws,bun",
    },
    bun: { type: "string" },
    workers: { type: "string" },
    "server-cpus": { type: "string", default: "0" },
  },
});
const ROOM_SIZES = values.receivers.split(",").map(Number);
const SECONDS = Number(values.seconds);
const IN_FLIGHT = 4;
const MESSAGE_BYTES = 64;
const WITHIN_MS = 250;

interface Server {
  readonly key: string;
  readonly label: string;
  readonly command: () => [string, string[]] | undefined;
}

const deno = Deno.execPath();
const SERVERS: Server[] = [
  {
    key: "chat-native",
    label: values.workers === undefined
      ? "socketry chat, native"
      : `socketry chat, native, ${values.workers} worker(s)`,
    command: () => [deno, [
      "run",
      "-A",
      benchFile("../examples/chat/main.ts"),
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      ...(values.workers === undefined ? [] : ["--workers", values.workers]),
    ]],
  },
  {
    key: "chat-engine",
    label: "socketry chat, engine",
    command: () => [deno, [
      "run",
      "-A",
      benchFile("../examples/chat/main.ts"),
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      "--backend",
      "engine",
    ]],
  },
  {
    key: "deno",
    label: "raw Deno loop",
    command: () => [deno, [
      "run",
      "--allow-net",
      benchFile("servers/fanout_deno.ts"),
      "--port",
      "0",
    ]],
  },
  {
    key: "ws",
    label: "Node ws loop",
    command: () => ["node", [benchFile("servers/fanout_ws.mjs"), "0"]],
  },
  {
    key: "bun",
    label: "Bun server.publish",
    command: () => {
      const bun = findBun(values.bun);
      return bun === undefined
        ? undefined
        : [bun, [benchFile("servers/fanout_bun.ts"), "0"]];
    },
  },
];

/** What one room size on one server gave. */
interface Result {
  readonly server: string;
  readonly receivers: number;
  readonly published: number;
  readonly deliveries: number;
  readonly perSecond: number;
  readonly lost: number;
  readonly reordered: number;
  readonly p50: number;
  readonly p99: number;
  readonly within250: number;
  readonly httpP99: number;
  readonly note?: string;
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
  /** Send time of message n (performance.now()). */
  readonly sentAt: number[] = [];
  /** How many members got message n, and when the last one did. */
  readonly reached: number[] = [];
  readonly lastAt: number[] = [];
  deliveries = 0;
  lost = 0;
  reordered = 0;
  onOwn: ((seq: number) => void) | undefined;
}

const decoder = new TextDecoder();

/** One member: reads and checks server frames (unmasked, text, < 126 bytes). */
class Receiver {
  readonly conn: Deno.TcpConn;
  next = 0;
  #pending = new Uint8Array(0);

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
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
        if (opcode === 0x1) {
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
      run.reached[seq] = (run.reached[seq] ?? 0) + 1;
      run.lastAt[seq] = now;
    }
    if (own) run.onOwn?.(seq);
  }
}

async function connectReceiver(url: URL): Promise<Receiver> {
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
  return new Receiver(conn);
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

async function measure(
  server: Server,
  receivers: number,
): Promise<Result | string> {
  const command = server.command();
  if (command === undefined) return "not found";
  const [program, args] = command;
  const listening = await startListening("taskset", [
    "-c",
    values["server-cpus"],
    program,
    ...args,
  ], (line) => /^Listening on (http:\/\/\S+)/.exec(line)?.[1]);
  if (listening.url === null) {
    return `${listening.failure}: ${listening.output.join(" | ")}`;
  }
  const origin = listening.url;
  const url = new URL("/ws", origin);
  url.protocol = "ws:";
  const members: Receiver[] = [];
  try {
    for (let i = 0; i < receivers; i += 100) {
      const batch = Math.min(100, receivers - i);
      members.push(
        ...await Promise.all(
          Array.from({ length: batch }, () => connectReceiver(url)),
        ),
      );
    }
    // Let every join land before the first message.
    await new Promise((resolve) => setTimeout(resolve, 500 + receivers / 10));
    const run = new Run();
    const reading = members.map((member, i) => member.read(run, i === 0));
    const publisher = members[0]!;
    const stopProbe = new AbortController();
    const probe = probeHttp(origin, stopProbe.signal);
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
    run.onOwn = (own) => {
      if (performance.now() < deadline) send();
      else if (own === seq - 1) finished.resolve();
    };
    for (let i = 0; i < IN_FLIGHT; i++) send();
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
    stopProbe.abort();
    const httpTimes = (await probe).sort((a, b) => a - b);
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
      server: server.label,
      receivers,
      published: seq,
      deliveries: run.deliveries,
      perSecond: run.deliveries / elapsed,
      lost: run.lost,
      reordered: run.reordered,
      p50: run.histogram.percentile(0.5),
      p99: run.histogram.percentile(0.99),
      within250: within / seq,
      httpP99: httpTimes[Math.floor(httpTimes.length * 0.99)] ?? NaN,
    };
  } finally {
    for (const member of members) {
      try {
        member.conn.close();
      } catch {
        // Closed above.
      }
    }
    await stopChild(listening.child, "SIGTERM", 5_000);
  }
}

stopAllOnSignal("fan-out servers");
const chosen = values.servers.split(",");
const results: Result[] = [];
const skipped: string[] = [];
try {
  for (const receivers of ROOM_SIZES) {
    for (
      const server of SERVERS.filter((server) => chosen.includes(server.key))
    ) {
      const result = await measure(server, receivers);
      if (typeof result === "string") {
        skipped.push(`${server.label} at ${receivers}: ${result}`);
        continue;
      }
      results.push(result);
      console.error(
        `${server.label}, ${receivers} receivers: ${
          Math.round(result.perSecond)
        } deliveries/s`,
      );
    }
  }
} finally {
  await stopAll();
}

const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits) : "-";
console.log(
  `Fan-out: ${MESSAGE_BYTES} B text, 1 publisher with ${IN_FLIGHT} in flight, ${SECONDS} s per run, servers on CPU ${
    values["server-cpus"]
  }\n`,
);
console.log(table([
  [
    "server",
    "receivers",
    "messages",
    "deliveries/s",
    "lost",
    "reordered",
    "p50 ms",
    "p99 ms",
    `all within ${WITHIN_MS} ms`,
    "HTTP p99 ms",
  ],
  ...results.map((r) => [
    r.server,
    String(r.receivers),
    String(r.published),
    String(Math.round(r.perSecond)),
    String(r.lost),
    String(r.reordered),
    fixed(r.p50, 1),
    fixed(r.p99, 1),
    `${(r.within250 * 100).toFixed(0)}%`,
    fixed(r.httpP99, 1),
  ]),
]));
const ratioRows: string[][] = [];
for (const receivers of ROOM_SIZES) {
  const at = results.filter((r) => r.receivers === receivers);
  const rate = (label: string) => at.find((r) => r.server === label)?.perSecond;
  for (const ours of at.filter((r) => r.server.startsWith("socketry"))) {
    const ratio = (label: string) => {
      const theirs = rate(label);
      return theirs === undefined
        ? "-"
        : `${(ours.perSecond / theirs).toFixed(2)}x`;
    };
    ratioRows.push([
      ours.server,
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
if (skipped.length > 0) console.log(`\nSkipped: ${skipped.join("; ")}`);
