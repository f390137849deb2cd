/**
 * The receivers and the publisher of bench/fanout.ts: two generators of
 * the same load, one room of `receivers` sockets of which the first
 * publishes numbered, timestamped texts, every delivery checked for loss
 * and order and timed.
 *
 * - `loadgenFanout`: the C load generator (`bench/loadgen/loadgen.c`,
 *   `--mode fanout`), one thread on epoll. The default: at 10,000
 *   receivers it keeps up with every server measured here.
 * - `denoFanout`: raw RFC 6455 clients over `Deno.connect` in this process.
 *   It needs no compiler, but at 10,000 receivers it is the bottleneck
 *   (99% of its core), and then its latencies are its own queueing.
 *
 * Both connect at most 100 sockets at a time, then repeat a warm-up message
 * until every socket got one (every join has landed), and only then start
 * the window: `publish()`.
 *
 * @module
 */

import { buildLoadgen } from "../loadgen/build.ts";
import { clientFrame, handshake, writeAll } from "./raw_client.ts";

/** What a fan-out run asks for. */
export interface FanoutLoad {
  /** Where the sockets connect, in turn; the publisher on the first. */
  readonly urls: readonly URL[];
  /** Sockets in the room, the publisher included. */
  readonly receivers: number;
  /** Publishing time. */
  readonly seconds: number;
  /** Messages a second; undefined: `inFlight` outstanding. */
  readonly rate: number | undefined;
  readonly inFlight: number;
  /** Text message size, bytes (48 to 125). */
  readonly messageBytes: number;
  /**
   * The C generator only: poll without sleeping (its `--spin`), so that no
   * send pays on the server's CPU for waking a receiver.
   */
  readonly spin?: boolean;
}

/** What the receivers got during a window. */
export interface Delivered {
  readonly published: number;
  readonly deliveries: number;
  /** From the first message sent to the last delivery. */
  readonly seconds: number;
  readonly lost: number;
  readonly reordered: number;
  /** Delivery latency, ms. */
  readonly p50: number;
  readonly p99: number;
  /** The same for the receivers of each URL. */
  readonly perServer: readonly { p50: number; p99: number }[];
  /** Share of messages that reached every receiver within 250 ms. */
  readonly within250: number;
}

/** A room of connected, warmed-up receivers. */
export interface FanoutGenerator {
  /** The process whose CPU time is the generator's. */
  readonly pid: number | "self";
  /** Publishes for the load's seconds; waits (10 s at most) for the last deliveries. */
  publish(): Promise<Delivered>;
  /** Closes every socket (and ends the generator's process). */
  close(): Promise<void>;
}

/** The deadline of `Delivered.within250`, ms (the C generator's too). */
export const WITHIN_MS = 250;
/** Warm-up messages start with this byte ("w"); numbered ones with a digit. */
const WARM_UP = 0x77;

/** The C generator, connected and warmed up; throws when it could not be. */
export async function loadgenFanout(
  load: FanoutLoad,
): Promise<FanoutGenerator> {
  const child = new Deno.Command(await buildLoadgen(), {
    args: [
      "--mode",
      "fanout",
      ...load.urls.flatMap((url) => ["--url", url.href]),
      ...["--conns", String(load.receivers)],
      ...(load.rate === undefined
        ? ["--inflight", String(load.inFlight)]
        : ["--rate", String(load.rate)]),
      ...["--size", String(load.messageBytes)],
      ...["--seconds", String(load.seconds)],
      ...(load.spin ? ["--spin"] : []),
      "--ready-line",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let buffered = "";
  const nextLine = async (): Promise<string | null> => {
    for (;;) {
      const end = buffered.indexOf("\n");
      if (end !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        return line;
      }
      const { value, done } = await lines.read();
      if (done) return null;
      buffered += value;
    }
  };
  const stdin = child.stdin.getWriter();
  const close = async () => {
    await stdin.close().catch(() => {});
    await lines.cancel().catch(() => {});
    await child.status;
  };
  const failed = async (line: string | null): Promise<Error> => {
    await close();
    const report = line === null ? null : JSON.parse(line);
    return new Error(
      `the C load generator failed: ${
        report?.firstError ?? ((await stderr).trim() || "no output")
      }`,
    );
  };
  const ready = await nextLine();
  if (ready === null || JSON.parse(ready).event !== "ready") {
    throw await failed(ready);
  }
  return {
    pid: child.pid,
    async publish() {
      await stdin.write(new TextEncoder().encode("go\n"));
      const line = await nextLine();
      if (line === null) throw await failed(line);
      const report = JSON.parse(line);
      const errors = Object.values(report.errors as Record<string, number>)
        .reduce((sum, count) => sum + count, 0);
      if (errors > 0) {
        await close();
        throw new Error(`receivers failed: ${report.firstError}`);
      }
      const ms = (value: number | null) => value ?? NaN;
      return {
        published: report.published,
        deliveries: report.deliveries,
        seconds: report.seconds,
        lost: report.lost,
        reordered: report.reordered,
        p50: ms(report.latencyMillis.p50),
        p99: ms(report.latencyMillis.p99),
        perServer:
          (report.perUrl as { p50: number | null; p99: number | null }[])
            .map(({ p50, p99 }) => ({ p50: ms(p50), p99: ms(p99) })),
        within250: report.within250,
      };
    },
    close,
  };
}

/** The Deno generator, connected and warmed up. */
export async function denoFanout(load: FanoutLoad): Promise<FanoutGenerator> {
  if (load.spin) throw new Error("only the C load generator spins");
  const members: Receiver[] = [];
  const run = new Run(load.urls.length);
  const closeAll = () => {
    for (const member of members) {
      try {
        member.conn.close();
      } catch {
        // Closed already.
      }
    }
  };
  let reading: Promise<void>[] = [];
  try {
    for (let i = 0; i < load.receivers; i += 100) {
      const batch = Math.min(100, load.receivers - i);
      members.push(
        ...await Promise.all(
          Array.from({ length: batch }, (_, j) => {
            const server = (i + j) % load.urls.length;
            return connectReceiver(load.urls[server]!, server);
          }),
        ),
      );
    }
    reading = members.map((member, i) => member.read(run, i === 0));
    await warmUp(run, members[0]!, load.receivers);
  } catch (error) {
    closeAll();
    throw error;
  }
  return {
    pid: "self",
    publish: () => publishFrom(run, members, load),
    async close() {
      closeAll();
      await Promise.allSettled(reading);
    },
  };
}

async function publishFrom(
  run: Run,
  members: readonly Receiver[],
  load: FanoutLoad,
): Promise<Delivered> {
  const publisher = members[0]!;
  let seq = 0;
  const deadline = performance.now() + load.seconds * 1000;
  const start = performance.now();
  const send = () => {
    const frame = clientFrame(0x1, message(seq, load.messageBytes));
    run.sentAt[seq] = performance.now();
    seq++;
    writeAll(publisher.conn, frame).catch(() => {});
  };
  const finished = Promise.withResolvers<void>();
  let sending = true;
  if (load.rate === undefined) {
    run.onOwn = (own) => {
      if (performance.now() < deadline) send();
      else if (own === seq - 1) finished.resolve();
    };
    for (let i = 0; i < load.inFlight; i++) send();
  } else {
    const rate = load.rate;
    run.onOwn = (own) => {
      if (!sending && own === seq - 1) finished.resolve();
    };
    // Every 5 ms, whatever the clock says is due.
    const clock = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, deadline) - start) * rate) / 1000);
      while (seq < due) send();
      if (now >= deadline) {
        clearInterval(clock);
        sending = false;
        if (seq === 0 || publisher.next >= seq) finished.resolve();
      }
    }, 5);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    finished.promise,
    new Promise((resolve) => {
      timer = setTimeout(resolve, load.seconds * 1000 + 30_000);
    }),
  ]);
  clearTimeout(timer);
  // The last message's deliveries to the other members.
  const settle = performance.now() + 10_000;
  while (
    run.reached[seq - 1] !== load.receivers && performance.now() < settle
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let within = 0;
  for (let n = 0; n < seq; n++) {
    if (
      run.reached[n] === load.receivers &&
      run.lastAt[n]! - run.sentAt[n]! <= WITHIN_MS
    ) within++;
  }
  let lost = run.lost;
  for (const member of members) lost += Math.max(0, seq - member.next);
  return {
    published: seq,
    deliveries: run.deliveries,
    seconds: (Math.max(...run.lastAt.filter(Number.isFinite)) - start) / 1000,
    lost,
    reordered: run.reordered,
    p50: run.histogram.percentile(0.5),
    p99: run.histogram.percentile(0.99),
    perServer: run.byServer.map((histogram) => ({
      p50: histogram.percentile(0.5),
      p99: histogram.percentile(0.99),
    })),
    within250: within / seq,
  };
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
  /** The same, per server process the receivers are on. */
  readonly byServer: Histogram[];
  /** Send time of message n (performance.now()). */
  readonly sentAt: number[] = [];
  /** How many members got message n, and when the last one did. */
  readonly reached: number[] = [];
  readonly lastAt: number[] = [];
  deliveries = 0;
  lost = 0;
  reordered = 0;
  /** Receivers that got a warm-up message. */
  warmed = 0;
  onOwn: ((seq: number) => void) | undefined;

  constructor(servers: number) {
    this.byServer = Array.from({ length: servers }, () => new Histogram());
  }
}

const decoder = new TextDecoder();

/** One member: reads and checks server frames (unmasked, text, < 126 bytes). */
class Receiver {
  readonly conn: Deno.TcpConn;
  /** Which server process it is on (an index into the origins). */
  readonly server: number;
  next = 0;
  warmed = false;
  #pending = new Uint8Array(0);

  constructor(conn: Deno.TcpConn, server: number) {
    this.conn = conn;
    this.server = server;
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
        if (opcode === 0x1 && bytes[offset + 2] === WARM_UP) {
          if (!this.warmed) run.warmed++;
          this.warmed = true;
        } else if (opcode === 0x1) {
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
      run.byServer[this.server]!.add(now - sent);
      run.reached[seq] = (run.reached[seq] ?? 0) + 1;
      run.lastAt[seq] = now;
    }
    if (own) run.onOwn?.(seq);
  }
}

async function connectReceiver(
  url: URL,
  server: number,
): Promise<Receiver> {
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
  return new Receiver(conn, server);
}

function message(seq: number, bytes: number): Uint8Array {
  const text = `${seq} ${performance.now().toFixed(3)} `;
  return new TextEncoder().encode(text.padEnd(bytes, "x"));
}

/** Repeats a warm-up message until every receiver got one (30 s at most). */
async function warmUp(
  run: Run,
  publisher: Receiver,
  receivers: number,
): Promise<void> {
  const frame = clientFrame(0x1, new TextEncoder().encode("warm-up"));
  const deadline = performance.now() + 30_000;
  while (run.warmed < receivers) {
    if (performance.now() > deadline) {
      throw new Error(
        `only ${run.warmed} of ${receivers} receivers got a warm-up message within 30 s`,
      );
    }
    await writeAll(publisher.conn, frame);
    const wait = performance.now() + 500;
    while (run.warmed < receivers && performance.now() < wait) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  // Let the last warm-up copies drain before the window.
  await new Promise((resolve) => setTimeout(resolve, 200));
}
