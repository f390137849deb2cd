/**
 * Connection churn soak: does a server give back what each connection cost,
 * and does every socket it accepted complete exactly once?
 *
 *     deno run -A bench/churn_soak.ts [--servers native,engine]
 *         [--cycles 200000] [--baseline 10000] [--concurrency 16]
 *         [--every 10000] [--json]
 *
 * For each server (the echo sample, `examples/echo/main.ts`, on its native
 * backend and with `--backend engine`, each a child process on a port the
 * system picks), `--concurrency` loops in this process run `--cycles`
 * cycles between them, each on a fresh TCP connection: connect, the opening
 * handshake (the `Sec-WebSocket-Accept` checked), one 64-byte text message
 * and its echo (checked byte for byte), a close frame (1000) and the
 * server's close reply, then the connection is closed. The server's RSS is
 * read (median of 3 readings 400 ms apart, after the loops paused) when
 * `--baseline` cycles are done and at the end, and every `--every` cycles
 * on the way. Then the server gets SIGTERM and its last line,
 * `Since start: A socket(s) accepted, C completed`, is compared with the
 * cycles that completed here: every accepted socket must have completed
 * (its processor completion settled) and every cycle must have been
 * accepted.
 *
 * `--servers raw` adds bare `Deno.upgradeWebSocket`
 * (`bench/servers/raw_deno_echo.ts`), which counts nothing: its RSS tells
 * Deno's own share from socketry's.
 *
 * The goal: RSS at the end within 10% of RSS after the baseline, and
 * accepted = completed = cycles, with no failed cycle. The script exits 1
 * when a server misses it. With `--json` the last line is a JSON report.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  delay,
  positive,
  stopAllOnSignal,
  stopChild,
} from "./helpers/children.ts";
import {
  ECHO_SERVERS,
  pickServers,
  startEchoServer,
} from "./helpers/echo_servers.ts";
import { sampleMemory } from "./helpers/memory.ts";
import { messageOf } from "./helpers/outcome.ts";
import {
  clientFrame,
  handshake,
  payloadOffset,
  UnitReader,
  writeAll,
} from "./helpers/raw_client.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    servers: { type: "string", default: "native,engine" },
    cycles: { type: "string", default: "200000" },
    baseline: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "16" },
    every: { type: "string", default: "10000" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A bench/churn_soak.ts [--servers native,engine] [--cycles 200000] [--baseline 10000] [--concurrency 16] [--every 10000] [--json]",
  );
  Deno.exit(0);
}
const cycles = positive("cycles", values.cycles);
const baseline = positive("baseline", values.baseline);
const concurrency = positive("concurrency", values.concurrency);
const every = positive("every", values.every);
if (baseline >= cycles) {
  console.error("--baseline must be below --cycles");
  Deno.exit(2);
}
const servers = pickServers(
  values.servers,
  [],
  [ECHO_SERVERS.native, ECHO_SERVERS.engine, ECHO_SERVERS.raw],
  false,
  (key) => key,
);

const MESSAGE = new TextEncoder().encode("churn".padEnd(64, "."));
const CLOSE = new Uint8Array([0x03, 0xe8]);

/** One cycle: connect, handshake, one echo, close handshake, TCP close. */
async function cycle(url: URL): Promise<void> {
  const conn = await Deno.connect({
    hostname: url.hostname,
    port: Number(url.port),
  });
  try {
    const reader = new UnitReader(conn);
    await handshake(
      url,
      undefined,
      (bytes) => writeAll(conn, bytes),
      () => reader.head(),
    );
    await writeAll(conn, clientFrame(0x1, MESSAGE));
    const echo = await reader.frame();
    const payload = echo.subarray(payloadOffset(echo));
    if (echo[0] !== 0x81 || !sameBytes(payload, MESSAGE)) {
      throw new Error("the echo differs from the message");
    }
    await writeAll(conn, clientFrame(0x8, CLOSE));
    const close = await reader.frame();
    if ((close[0]! & 0x0f) !== 0x8) {
      throw new Error(`expected the close reply, got opcode ${close[0]! & 15}`);
    }
  } finally {
    conn.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

interface Sample {
  cycles: number;
  rssKiB: number;
}

interface Report {
  server: string;
  cycles: number;
  failed: number;
  firstFailure?: string;
  accepted: number | null;
  completed: number | null;
  cyclesPerSecond: number;
  baselineRssKiB: number;
  finalRssKiB: number;
  growth: number;
  samples: Sample[];
  ok: boolean;
}

async function soak(spec: typeof servers[number]): Promise<Report> {
  const server = await startEchoServer(spec);
  const url = new URL(server.url);
  let done = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let started = 0;
  const samples: Sample[] = [];
  const checkpoints = [
    ...new Set([
      baseline,
      cycles,
      ...Array.from(
        { length: Math.floor(cycles / every) },
        (_, i) => (i + 1) * every,
      ),
    ]),
  ].sort((a, b) => a - b);
  const began = performance.now();
  for (const checkpoint of checkpoints) {
    // The loops run up to the checkpoint, then pause while RSS is read.
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (started < checkpoint) {
        started++;
        try {
          await cycle(url);
          done++;
        } catch (error) {
          failed++;
          firstFailure ??= messageOf(error);
        }
      }
    }));
    const { rss } = await sampleMemory(server.child.pid, 3);
    samples.push({ cycles: checkpoint, rssKiB: rss });
    if (!values.json) {
      console.log(
        `  ${spec.key}: ${checkpoint} cycles, RSS ${
          (rss / 1024).toFixed(1)
        } MiB` +
          (failed > 0 ? `, ${failed} failed` : ""),
      );
    }
  }
  const seconds = (performance.now() - began) / 1000;
  await stopChild(server.child, "SIGTERM", 10_000);
  await delay(200); // The last lines of its output to arrive.
  const line = server.output.findLast((text) =>
    text.startsWith("Since start:")
  );
  const match = /(\d+) socket\(s\) accepted, (\d+) completed/.exec(line ?? "");
  // Only the echo sample counts its sockets; raw Deno is measured for RSS.
  const counted = spec.script.endsWith("main.ts");
  const accepted = match === null ? null : Number(match[1]);
  const completed = match === null ? null : Number(match[2]);
  const baselineRss = samples.find((s) => s.cycles === baseline)!.rssKiB;
  const finalRss = samples.at(-1)!.rssKiB;
  const growth = finalRss / baselineRss - 1;
  return {
    server: spec.key,
    cycles: done,
    failed,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    accepted,
    completed,
    cyclesPerSecond: Math.round(done / seconds),
    baselineRssKiB: baselineRss,
    finalRssKiB: finalRss,
    growth,
    samples,
    ok: failed === 0 && growth <= 0.1 &&
      (counted ? accepted === done && completed === done : true),
  };
}

stopAllOnSignal("churn soak");
const reports: Report[] = [];
for (const spec of servers) {
  if (!values.json) console.log(`${spec.label}: ${cycles} cycles`);
  reports.push(await soak(spec));
}

if (!values.json) {
  console.log(
    "\nserver   cycles   failed  accepted  completed  cycles/s  RSS@baseline  RSS@end  growth",
  );
  for (const r of reports) {
    console.log(
      [
        r.server.padEnd(7),
        String(r.cycles).padStart(7),
        String(r.failed).padStart(7),
        String(r.accepted ?? "-").padStart(9),
        String(r.completed ?? "-").padStart(10),
        String(r.cyclesPerSecond).padStart(9),
        `${(r.baselineRssKiB / 1024).toFixed(1)} MiB`.padStart(13),
        `${(r.finalRssKiB / 1024).toFixed(1)} MiB`.padStart(8),
        `${(r.growth * 100).toFixed(1)}%`.padStart(7),
        r.ok ? "ok" : "MISSED",
      ].join("  "),
    );
    if (r.firstFailure !== undefined) {
      console.log(`  first failure: ${r.firstFailure}`);
    }
  }
  console.log(
    `\nGoal: no failed cycle, accepted = completed = cycles, RSS at the end within 10% of RSS after ${baseline} cycles.`,
  );
}
const ok = reports.every((r) => r.ok);
if (values.json) {
  console.log(
    JSON.stringify({
      bench: "churn_soak",
      cycles,
      baseline,
      concurrency,
      reports,
      ok,
    }),
  );
}
Deno.exit(ok ? 0 : 1);
