/**
 * What permessage-deflate costs a broadcast: `examples/chat/main.ts
 * --backend engine` with receivers that do not offer compression, against
 * `--backend engine --compression` with receivers that offer it (socketry's
 * client, `deflate: true`, as browsers, `ws` and python-websockets do by
 * default). The chat agrees on `server_no_context_takeover`, so each
 * message is compressed once for the whole room.
 *
 *     taskset -c 1 deno run -A bench/chat_compression.ts [--receivers 1000] [--rate 20]
 *         [--seconds 5] [--rounds 2]
 *
 * The chat runs pinned to CPU 0, this script (the receivers and the
 * publisher, itself a member) on the other CPUs; the two setups take turns.
 * The publisher sends `--rate` numbered JSON chat lines a second; every
 * receiver checks that it gets each one once and in order. Reported per
 * setup (medians over rounds): deliveries, lost and reordered, the chat's
 * CPU time per delivery and its RSS once the window ends; then compressed /
 * plain.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "../lib/client/mod.ts";
import type { EngineSocket } from "../lib/engine/mod.ts";
import {
  benchFile,
  delay,
  pinned,
  positive,
  startListening,
  stopAllOnSignal,
  stopChild,
} from "./helpers/children.ts";
import { cpuMicros } from "./helpers/cpu.ts";
import { readMemory } from "./helpers/memory.ts";
import { median } from "./helpers/stats.ts";
import { table } from "./helpers/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    receivers: { type: "string", default: "1000" },
    rate: { type: "string", default: "20" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: taskset -c 1 deno run -A bench/chat_compression.ts [--receivers 1000] [--rate 20] [--seconds 5] [--rounds 2]",
  );
  Deno.exit(0);
}
const receivers = positive("receivers", values.receivers);
const rate = positive("rate", values.rate, false);
const seconds = positive("seconds", values.seconds, false);
const rounds = positive("rounds", values.rounds);

interface Setup {
  readonly label: string;
  readonly args: readonly string[];
  readonly deflate: boolean;
}

const SETUPS: readonly Setup[] = [
  { label: "plain", args: [], deflate: false },
  { label: "compressed", args: ["--compression"], deflate: true },
];

interface Outcome {
  readonly delivered: number;
  readonly expected: number;
  readonly lost: number;
  readonly reordered: number;
  readonly microsPerDelivery: number;
  readonly rssMiB: number;
  readonly extensions: string;
}

/** One receiver: counts deliveries and checks their order. */
class Receiver {
  next = 0;
  delivered = 0;
  lost = 0;
  reordered = 0;

  take(number: number): void {
    this.delivered++;
    if (number === this.next) this.next++;
    else if (number > this.next) {
      this.lost += number - this.next;
      this.next = number + 1;
    } else this.reordered++;
  }
}

async function measure(setup: Setup): Promise<Outcome> {
  const chat = await startListening(
    ...pinned([Deno.execPath(), [
      "run",
      "-A",
      benchFile("../examples/chat/main.ts"),
      "--backend",
      "engine",
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
      ...setup.args,
    ]], "0"),
    (line) => /^Listening on (http:\/\/\S+)/.exec(line)?.[1],
  );
  if (chat.url === null) {
    throw new Error(
      `the chat did not start (${chat.failure}):\n${chat.output.join("\n")}`,
    );
  }
  const url = `${chat.url.replace("http", "ws")}ws?room=squeeze`;
  const pid = chat.child.pid;
  const sockets: EngineSocket[] = [];
  const states: Receiver[] = [];
  try {
    for (let i = 0; i < receivers; i++) {
      const socket = await connect(url, { deflate: setup.deflate });
      const state = new Receiver();
      socket.addEventListener("message", ({ data }) => {
        if (typeof data !== "string") return;
        const number = Number(/"n":(\d+)/.exec(data)?.[1] ?? -1);
        if (number >= 0) state.take(number);
      });
      sockets.push(socket);
      states.push(state);
    }
    const publisher = sockets[0]!;
    // Every receiver is in the room once a warm-up message reached all.
    let warm = 0;
    const warmed = new Set<EngineSocket>();
    for (const socket of sockets) {
      socket.addEventListener("message", () => warmed.add(socket), {
        once: true,
      });
    }
    while (warmed.size < receivers) {
      await publisher.send(`warm-up ${warm++}`);
      await delay(100);
    }
    const cpu0 = cpuMicros(pid)!;
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < seconds * 1000) {
      const line = JSON.stringify({
        user: "publisher",
        room: "squeeze",
        text: `message number ${sent} of the benchmark, to everyone`,
        n: sent,
      });
      await publisher.send(line);
      sent++;
      const due = start + (sent * 1000) / rate;
      await delay(Math.max(0, due - performance.now()));
    }
    const expected = sent * receivers;
    const done = () => states.reduce((sum, s) => sum + s.delivered, 0);
    const deadline = performance.now() + 30_000;
    while (done() < expected && performance.now() < deadline) {
      await delay(50);
    }
    const cpu = cpuMicros(pid)! - cpu0;
    const delivered = done();
    return {
      delivered,
      expected,
      lost: states.reduce((sum, s) => sum + s.lost, 0) + expected - delivered,
      reordered: states.reduce((sum, s) => sum + s.reordered, 0),
      microsPerDelivery: cpu / Math.max(1, delivered),
      rssMiB: (readMemory(pid)?.rss ?? 0) / 1024,
      extensions: publisher.extensions,
    };
  } finally {
    await Promise.all(sockets.map((socket) => socket.close().catch(() => {})));
    await stopChild(chat.child, "SIGTERM", 5_000);
  }
}

stopAllOnSignal("chat_compression");
console.log(
  `Chat broadcast with and without permessage-deflate: ${receivers} receivers in one room, ${rate} messages/s for ${seconds} s, ${rounds} round(s); chat on CPU 0`,
);
const results = new Map<Setup, Outcome[]>(SETUPS.map((setup) => [setup, []]));
for (let round = 1; round <= rounds; round++) {
  const order = round % 2 === 1 ? SETUPS : [...SETUPS].reverse();
  for (const setup of order) {
    const outcome = await measure(setup);
    results.get(setup)!.push(outcome);
    console.log(
      `  round ${round}  ${
        setup.label.padEnd(10)
      }  ${outcome.delivered}/${outcome.expected} delivered, lost ${outcome.lost}, reordered ${outcome.reordered}, ${
        outcome.microsPerDelivery.toFixed(1)
      } µs of chat CPU per delivery, RSS ${outcome.rssMiB.toFixed(0)} MiB (${
        outcome.extensions || "no extension"
      })`,
    );
  }
}
const summaries = SETUPS.map((setup) => {
  const outcomes = results.get(setup)!;
  return {
    label: setup.label,
    lost: outcomes.reduce((sum, o) => sum + o.lost, 0),
    reordered: outcomes.reduce((sum, o) => sum + o.reordered, 0),
    micros: median(outcomes.map((o) => o.microsPerDelivery)),
    rss: median(outcomes.map((o) => o.rssMiB)),
  };
});
const [plain, compressed] = summaries as [
  (typeof summaries)[number],
  (typeof summaries)[number],
];
console.log();
console.log(table([
  ["setup", "lost", "reordered", "chat µs per delivery", "chat RSS MiB"],
  ...summaries.map((s) => [
    s.label,
    String(s.lost),
    String(s.reordered),
    s.micros.toFixed(1),
    s.rss.toFixed(0),
  ]),
], new Set([1, 2, 3, 4])));
console.log(
  `compressed / plain: CPU per delivery ${
    (compressed.micros / plain.micros).toFixed(2)
  }×, RSS ${(compressed.rss / plain.rss).toFixed(2)}×`,
);
