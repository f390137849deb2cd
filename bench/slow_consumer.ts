/**
 * What a reader that stopped reading costs a server in memory: one socket
 * whose peer never reads is sent `--messages` messages of `--size` bytes,
 * and the server's JavaScript heap (after full garbage collections) and
 * resident memory are read before and after, with all of them waiting to be
 * written. Each case runs in a fresh process (this file with `--case`,
 * under `--v8-flags=--expose-gc`), one after the other:
 *
 *     deno run -A bench/slow_consumer.ts [--messages 200000] [--size 64]
 *         [--cases broadcast-native,send-native,raw,broadcast-engine,send-engine]
 *
 * - `broadcast-native`, `broadcast-engine`: `processor.broadcast()` of a
 *   string, the way a room's messages reach a member (`slowConsumer:
 *   "skip"`, so that the queue keeps growing);
 * - `send-native`, `send-engine`: `socket.send(text).catch(...)` in a loop,
 *   each promise kept by its caller's `catch`;
 * - `raw`: `Deno.upgradeWebSocket`'s `ws.send(text)`, Deno alone.
 *
 * Every case has `maxBufferedAmount` above what it sends, so that nothing
 * is refused. The table gives, per waiting message, the heap it holds and
 * the resident memory the process grew by (heap included), and that growth
 * against the payload bytes waiting, which are what `maxBufferedAmount`
 * counts. The resident figure also holds what Deno keeps outside the heap
 * (for the native backend and raw Deno, each send waiting in Deno's own
 * queue) and heap space V8 has not given back.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runForReport } from "./helpers/children.ts";
import { handshake, UnitReader, writeAll } from "./helpers/raw_client.ts";
import { table } from "./helpers/table.ts";
import { type Socket, SocketProcessor, webSockets } from "../lib/server/mod.ts";
import { serveEngine } from "../lib/engine/mod.ts";

const CASES = [
  "broadcast-native",
  "send-native",
  "raw",
  "broadcast-engine",
  "send-engine",
] as const;
type Case = typeof CASES[number];

const { values } = parseArgs({
  args: Deno.args,
  options: {
    messages: { type: "string", default: "200000" },
    size: { type: "string", default: "64" },
    cases: { type: "string", default: CASES.join(",") },
    case: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/slow_consumer.ts [--messages 200000] [--size 64] [--cases " +
      CASES.join(",") + "]",
  );
  Deno.exit(0);
}
const messages = Number(values.messages);
const size = Number(values.size);
if (!Number.isSafeInteger(messages) || messages < 1000) {
  console.error(`--messages must be an integer ≥ 1000, got ${values.messages}`);
  Deno.exit(2);
}
if (!Number.isSafeInteger(size) || size < 1 || size > 65536) {
  console.error(`--size must be 1 to 65536 bytes, got ${values.size}`);
  Deno.exit(2);
}
const isCase = (name: string): name is Case =>
  (CASES as readonly string[]).includes(name);

/** What one case measured, as its child prints it. */
interface Report {
  case: Case;
  messages: number;
  /** Bytes the socket reported waiting (`bufferedAmount`). */
  waiting: number;
  heapBytes: number;
  rssBytes: number;
}

if (values.case !== undefined) {
  if (!isCase(values.case)) {
    console.error(`--case takes one of ${CASES.join(", ")}`);
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measure(values.case)));
  Deno.exit(0);
}

const chosen = values.cases.split(",");
const unknown = chosen.filter((name) => !isCase(name));
if (unknown.length > 0) {
  console.error(
    `--cases: unknown ${unknown.join(", ")}; known: ${CASES.join(", ")}`,
  );
  Deno.exit(2);
}
const reports: Report[] = [];
for (const name of chosen as Case[]) {
  console.error(
    `${name}: ${messages} messages of ${size} B to a stalled reader`,
  );
  const line = await runForReport(
    Deno.execPath(),
    [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--case",
      name,
      "--messages",
      String(messages),
      "--size",
      String(size),
    ],
    120_000,
    name,
  );
  reports.push(JSON.parse(line) as Report);
}
const perMessage = (bytes: number, report: Report) =>
  Math.round(bytes / report.messages).toLocaleString("en-US");
console.log(
  `\nOne reader that stopped reading, ${
    messages.toLocaleString("en-US")
  } messages of ${size} B sent to it\n`,
);
console.log(table([
  [
    "case",
    "payload waiting",
    "heap B / message",
    "RSS B / message",
    "RSS / payload",
  ],
  ...reports.map((report) => [
    report.case,
    `${(report.waiting / 1048576).toFixed(1)} MiB`,
    perMessage(report.heapBytes, report),
    perMessage(report.rssBytes, report),
    report.waiting === 0
      ? "-"
      : `${(report.rssBytes / report.waiting).toFixed(1)}×`,
  ]),
]));
if (reports.some((report) => report.waiting === 0)) {
  console.log(
    "\n-: nothing waited; the kernel's socket buffers took every message. Send more (--messages).",
  );
}
console.log(
  JSON.stringify({ bench: "slow_consumer", messages, size, reports }),
);

/** Runs one case in this process and reports it. */
async function measure(name: Case): Promise<Report> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run a case with --expose-gc");
  const memory = () => {
    gc();
    gc();
    return Deno.memoryUsage();
  };
  const text = "x".repeat(size);
  const options = { path: "/ws", maxBufferedAmount: messages * size * 2 };
  const { promise: opened, resolve: open } = Promise.withResolvers<
    { send(): void; waiting(): number }
  >();
  const processor = new SocketProcessor({ slowConsumer: "skip" });
  const fromSocket = (socket: Socket) => {
    if (name.startsWith("broadcast")) {
      processor.add(socket);
      open({
        send: () => processor.broadcast(text),
        waiting: () => socket.bufferedAmount,
      });
    } else {
      open({
        send: () => socket.send(text).catch(() => {}),
        waiting: () => socket.bufferedAmount,
      });
    }
  };
  let port: number;
  if (name === "raw") {
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      (request) => {
        const { socket, response } = Deno.upgradeWebSocket(request);
        socket.onopen = () =>
          open({
            send: () => socket.send(text),
            waiting: () => socket.bufferedAmount,
          });
        return response;
      },
    );
    port = server.addr.port;
  } else if (name.endsWith("native")) {
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      webSockets(options, fromSocket),
    );
    port = server.addr.port;
  } else {
    const listening = Promise.withResolvers<number>();
    serveEngine({
      ...options,
      port: 0,
      hostname: "127.0.0.1",
      onListen: ({ port }) => listening.resolve(port),
    }, fromSocket);
    port = await listening.promise;
  }
  // A peer that completes the handshake and then never reads.
  const peer = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new UnitReader(peer);
  await handshake(
    new URL(`ws://127.0.0.1:${port}/ws`),
    undefined,
    (bytes) => writeAll(peer, bytes),
    () => reader.head(),
  );
  const socket = await opened;
  const before = memory();
  for (let i = 0; i < messages; i++) {
    socket.send();
    // Turns of the event loop, as a server between messages would have.
    if (i % 10_000 === 0) await new Promise((resolve) => setTimeout(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = memory();
  return {
    case: name,
    messages,
    waiting: socket.waiting(),
    heapBytes: after.heapUsed - before.heapUsed,
    rssBytes: after.rss - before.rss,
  };
}
