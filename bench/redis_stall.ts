/**
 * What a Redis that stops answering costs a publishing process: one
 * `RedisBackplane` publishes 100-byte messages to a room at a steady rate
 * while a second one, subscribed, counts what arrives; one second in, the
 * script freezes its own `redis-server` with SIGSTOP, and thaws it with
 * SIGCONT `--stall` seconds later. Run once with the stall detection off
 * (`stallTimeout: Infinity`) and once with `--stall-timeout` (default 1000
 * ms), in that order, each on a Redis of its own.
 *
 *     deno run -A --v8-flags=--expose-gc bench/redis_stall.ts [--rate 20000]
 *         [--stall 5] [--stall-timeout 1000] [--redis-server PATH]
 *
 * Prints, per run: the most publications waiting for Redis at once, the
 * largest heap growth over the start (after a collection when
 * `--expose-gc` is given), publications refused during the stall, and
 * whether every publication that Redis took reached the subscriber.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { RedisBackplane } from "../lib/backplane/redis.ts";
import { REDIS_SERVER, startBenchRedis } from "./helpers/redis_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "20000" },
    stall: { type: "string", default: "5" },
    "stall-timeout": { type: "string", default: "1000" },
    "redis-server": { type: "string", default: REDIS_SERVER },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A --v8-flags=--expose-gc bench/redis_stall.ts [--rate 20000] [--stall 5] [--stall-timeout 1000] [--redis-server PATH]",
  );
  Deno.exit(0);
}
const rate = Number(values.rate);
const stallSeconds = Number(values.stall);
const stallTimeout = Number(values["stall-timeout"]);
for (const [name, value] of [["--rate", rate], ["--stall", stallSeconds]]) {
  if (!(Number(value) > 0)) {
    console.error(`${name} must be a positive number, got ${value}`);
    Deno.exit(2);
  }
}
if (!(stallTimeout > 0)) {
  console.error(`--stall-timeout must be a positive number of ms`);
  Deno.exit(2);
}

const gc = (globalThis as { gc?: () => void }).gc;
const lobby = { kind: "room", name: "lobby" } as const;
const payload = "x".repeat(100);
const TICK = 10;

interface Outcome {
  maxWaiting: number;
  maxHeapGrowth: number;
  refused: number;
  taken: number;
  received: number;
}

function heap(): number {
  gc?.();
  return Deno.memoryUsage().heapUsed;
}

async function run(timeout: number): Promise<Outcome> {
  const redis = await startBenchRedis(values["redis-server"]);
  const options = { url: redis.url, prefix: "stall" };
  const publisher = new RedisBackplane({ ...options, stallTimeout: timeout });
  const subscriber = new RedisBackplane(options);
  let received = 0;
  subscriber.onMessage(() => received++);
  publisher.onEvent((event) => {
    if (event.type === "state") {
      console.log(
        `  state ${event.state}${event.error ? `: ${event.error}` : ""}`,
      );
    }
  });
  try {
    await Promise.all([publisher.ready, subscriber.ready]);
    subscriber.subscribe(lobby);
    await subscriber.settled();
    const start = heap();
    const outcome: Outcome = {
      maxWaiting: 0,
      maxHeapGrowth: 0,
      refused: 0,
      taken: 0,
      received: 0,
    };
    let sent = 0;
    const perTick = Math.max(1, Math.round(rate * TICK / 1000));
    const publishing = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        sent++;
        publisher.publish({ target: lobby, data: payload }).then((ok) => {
          if (ok) outcome.taken++;
          else outcome.refused++;
        });
      }
      outcome.maxWaiting = Math.max(
        outcome.maxWaiting,
        sent - outcome.taken - outcome.refused,
      );
    }, TICK);
    const sampling = setInterval(() => {
      outcome.maxHeapGrowth = Math.max(outcome.maxHeapGrowth, heap() - start);
    }, 250);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    Deno.kill(redis.pid, "SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, stallSeconds * 1000));
    Deno.kill(redis.pid, "SIGCONT");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    clearInterval(publishing);
    // Let what was taken arrive.
    const deadline = performance.now() + 10_000;
    while (
      (sent > outcome.taken + outcome.refused || received < outcome.taken) &&
      performance.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    clearInterval(sampling);
    outcome.received = received;
    return outcome;
  } finally {
    Deno.kill(redis.pid, "SIGCONT");
    await publisher.close();
    await subscriber.close();
    await redis.stop();
  }
}

console.log(
  `Redis frozen for ${stallSeconds} s while publishing ${rate} messages/s of 100 B${
    gc === undefined
      ? " (heap without forced collections: add --v8-flags=--expose-gc)"
      : ""
  }`,
);
const rows: string[] = [];
for (const timeout of [Infinity, stallTimeout]) {
  console.log(`stallTimeout ${timeout}:`);
  const outcome = await run(timeout);
  rows.push(
    `| ${timeout} | ${outcome.maxWaiting} | ${
      (outcome.maxHeapGrowth / 1e6).toFixed(1)
    } | ${outcome.refused} | ${outcome.taken} | ${outcome.received} |`,
  );
}
console.log(
  "\n| stallTimeout (ms) | most waiting | heap growth MB | refused | taken by Redis | received |",
);
console.log("|---:|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
