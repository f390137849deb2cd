/**
 * What the load clients of `bench/client_load.ts` share, written in plain
 * JavaScript so that Deno (`socketry_client.ts`) and Node (`ws_client.mjs`)
 * run the very same code around the library under test: argument parsing,
 * the messages, the echo check, the per-connection bookkeeping, the measured
 * window, the CPU readings and the JSON report. Only opening a socket,
 * sending, receiving and closing differ between the clients.
 *
 * A client is started as
 *
 *     CLIENT --url ws://127.0.0.1:PORT/ws --size BYTES [--binary]
 *         [--connections 20] [--inflight 4] [--seconds 5] [--warmup 1]
 *         [--server-pid PID]
 *
 * and prints one JSON line (a {@linkcode ClientReport}) on stdout, then
 * exits 0; it exits 2 on bad arguments.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

/**
 * @typedef {object} ClientErrors
 * @property {number} connect Sockets that did not open.
 * @property {number} mismatch Echoes that differed from what was sent.
 * @property {number} closedEarly Sockets that closed before the client closed them.
 * @property {number} socket Error events, failed sends.
 * @property {number} unanswered Messages still unanswered 10 s after the window.
 * @property {number} closeTimeout Sockets whose close did not finish in 5 s.
 */

/**
 * @typedef {object} ClientReport
 * @property {string} client The client's name.
 * @property {string} runtime The runtime and its version.
 * @property {number} roundTrips Echoes received in the window.
 * @property {number} seconds The window's length.
 * @property {number | null} clientCpuSeconds CPU time of the client process.
 * @property {number | null} serverCpuSeconds CPU time of the server process.
 * @property {number | null} machineCpuSeconds CPU time of the whole machine.
 * @property {number | null} peakRssBytes The client's peak resident memory.
 * @property {ClientErrors} errors What went wrong, counted.
 * @property {string | null} firstError The first thing that went wrong.
 */

/**
 * @typedef {object} ClientArgs
 * @property {string} url
 * @property {number} size
 * @property {boolean} binary
 * @property {number} connections
 * @property {number} inflight
 * @property {number} seconds
 * @property {number} warmup
 * @property {number | undefined} serverPid
 * @property {Record<string, string | boolean | undefined>} extra The values
 *   of the client's own options.
 */

/** How many distinct messages a connection cycles through. */
export const VARIANTS = 8;

/**
 * Parses a client's arguments; exits 2 when they are wrong. `extra` declares
 * the client's own string options, with their defaults.
 *
 * @param {string[]} args
 * @param {Record<string, string>} [extra]
 * @returns {ClientArgs}
 */
export function parseClientArgs(args, extra = {}) {
  /** @type {Record<string, { type: "string", default: string }>} */
  const own = {};
  for (const [name, fallback] of Object.entries(extra)) {
    own[name] = { type: "string", default: fallback };
  }
  const { values } = parseArgs({
    args,
    options: {
      ...own,
      url: { type: "string" },
      size: { type: "string" },
      binary: { type: "boolean", default: false },
      connections: { type: "string", default: "20" },
      inflight: { type: "string", default: "4" },
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      "server-pid": { type: "string" },
    },
  });
  /** @type {(name: string, text: string | undefined, integer?: boolean) => number} */
  const positive = (name, text, integer = true) => {
    const value = Number(text);
    if (!(value > 0) || (integer && !Number.isInteger(value))) {
      console.error(`--${name} must be a positive number, got ${text}`);
      process.exit(2);
    }
    return value;
  };
  if (values.url === undefined) {
    console.error("--url is required");
    process.exit(2);
  }
  const warmup = Number(values.warmup);
  if (!(warmup >= 0)) {
    console.error(`--warmup must be a number >= 0, got ${values.warmup}`);
    process.exit(2);
  }
  return {
    url: values.url,
    size: positive("size", values.size),
    binary: values.binary ?? false,
    connections: positive("connections", values.connections),
    inflight: positive("inflight", values.inflight),
    seconds: positive("seconds", values.seconds, false),
    warmup,
    serverPid: values["server-pid"] === undefined
      ? undefined
      : positive("server-pid", values["server-pid"]),
    extra: Object.fromEntries(
      Object.keys(extra).map((name) => [name, values[name]]),
    ),
  };
}

/**
 * `VARIANTS` printable ASCII messages of `size` bytes, the same on every run
 * (a fixed-seed xorshift, the generator of `bench/echo_load.ts`), so that
 * every client sends the same bytes.
 *
 * @param {number} size
 * @returns {string[]}
 */
export function makeMessages(size) {
  const alphabet = new TextEncoder().encode(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;-_",
  );
  const decoder = new TextDecoder();
  let state = 0x9e3779b9;
  /** @type {string[]} */
  const messages = [];
  for (let v = 0; v < VARIANTS; v++) {
    // ASCII bytes, decoded: the same string as joining characters, faster.
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bytes[i] = alphabet[(state >>> 0) % alphabet.length] ?? 63;
    }
    messages.push(decoder.decode(bytes));
  }
  return messages;
}

/**
 * The messages of a run, what is sent (strings for text, bytes for binary)
 * and the echo check.
 */
export class Messages {
  /**
   * @param {number} size
   * @param {boolean} binary
   */
  constructor(size, binary) {
    this.binary = binary;
    /** @type {string[]} */
    this.texts = makeMessages(size);
    const encoder = new TextEncoder();
    /** @type {Uint8Array[]} */
    this.payloads = this.texts.map((text) => encoder.encode(text));
    /** @type {Int32Array[]} the payloads as words (zero-padded) */
    this.words = this.payloads.map((payload) => {
      const padded = new Uint8Array((payload.byteLength + 3) & ~3);
      padded.set(payload);
      return new Int32Array(padded.buffer);
    });
    /** @type {(string | Uint8Array)[]} */
    this.outgoing = binary ? this.payloads : this.texts;
    this.scratch = new Uint8Array((size + 3) & ~3);
    this.scratchWords = new Int32Array(this.scratch.buffer);
  }

  /**
   * Whether `data` is exactly message `variant`: the same string for text,
   * the same bytes for binary (and never the other type).
   *
   * @param {unknown} data
   * @param {number} variant
   * @returns {boolean}
   */
  matches(data, variant) {
    if (!this.binary) return data === this.texts[variant];
    if (!(data instanceof Uint8Array)) return false;
    const payload = /** @type {Uint8Array} */ (this.payloads[variant]);
    const length = data.byteLength;
    if (length !== payload.byteLength) return false;
    if (length < 64) {
      for (let i = 0; i < length; i++) {
        if (data[i] !== payload[i]) return false;
      }
      return true;
    }
    // Word-wise: on the received bytes when they are 4-byte aligned, else on
    // an aligned copy (a native memcpy). Then the last 0-3 bytes.
    const words = length >>> 2;
    const mine = (data.byteOffset & 3) === 0
      ? new Int32Array(data.buffer, data.byteOffset, words)
      : (this.scratch.set(data), this.scratchWords);
    const theirs = /** @type {Int32Array} */ (this.words[variant]);
    for (let i = 0; i < words; i++) {
      if (mine[i] !== theirs[i]) return false;
    }
    for (let i = words << 2; i < length; i++) {
      if (data[i] !== payload[i]) return false;
    }
    return true;
  }
}

/** What one client process shares between its connections. */
export class Load {
  /** @param {Messages} messages */
  constructor(messages) {
    this.messages = messages;
    this.running = true;
    this.closing = false;
    this.roundTrips = 0;
    /** @type {string | null} */
    this.firstError = null;
    /** @type {ClientErrors} */
    this.errors = {
      connect: 0,
      mismatch: 0,
      closedEarly: 0,
      socket: 0,
      unanswered: 0,
      closeTimeout: 0,
    };
  }

  /**
   * @param {keyof ClientErrors} kind
   * @param {string} message
   * @param {number} [count]
   */
  fail(kind, message, count = 1) {
    this.errors[kind] += count;
    this.firstError ??= message;
  }
}

/**
 * One connection's bookkeeping. Connection `index` sends variant
 * `(index + n) % VARIANTS` as its n-th message and expects the same back, in
 * order. The client sets `transmit` and `close` once its socket is open and
 * calls `echoed` for every message and `ended` once when the socket is gone.
 */
export class LoadConn {
  /**
   * @param {number} index
   * @param {Load} load
   */
  constructor(index, load) {
    this.index = index;
    this.load = load;
    this.sent = 0;
    this.received = 0;
    /** @type {(data: string | Uint8Array) => void} */
    this.transmit = () => {};
    /** @type {() => void} */
    this.close = () => {};
    /** @type {() => void} */
    this.resolveIdle = () => {};
    /** @type {Promise<void>} resolves once every message sent was echoed, after the window */
    this.idle = new Promise((resolve) => this.resolveIdle = resolve);
    /** @type {() => void} */
    this.resolveClosed = () => {};
    /** @type {Promise<void>} resolves when the socket is gone */
    this.closed = new Promise((resolve) => this.resolveClosed = resolve);
    this.done = false;
  }

  sendNext() {
    const variant = (this.index + this.sent) % VARIANTS;
    this.sent++;
    this.transmit(
      /** @type {string | Uint8Array} */ (this.load.messages.outgoing[variant]),
    );
  }

  /**
   * Checks an echo against what was sent in the same position, counts it and
   * sends the next message while the run lasts.
   *
   * @param {unknown} data A string for a text message, bytes for binary.
   */
  echoed(data) {
    const load = this.load;
    const variant = (this.index + this.received) % VARIANTS;
    this.received++;
    load.roundTrips++;
    if (!load.messages.matches(data, variant)) {
      load.fail(
        "mismatch",
        `socket ${this.index}: echo ${this.received} differs from what was sent (${
          typeof data === "string"
            ? `text, ${data.length} chars`
            : data instanceof Uint8Array
            ? `binary, ${data.byteLength} bytes`
            : typeof data
        })`,
      );
    }
    if (load.running) this.sendNext();
    else if (this.received >= this.sent) this.resolveIdle();
  }

  /**
   * Called once the socket is gone, however it went.
   *
   * @param {string} description
   */
  ended(description) {
    if (this.done) return;
    this.done = true;
    if (!this.load.closing) {
      this.load.fail(
        "closedEarly",
        `socket ${this.index} closed early: ${description}`,
      );
    }
    this.resolveIdle();
    this.resolveClosed();
  }
}

/**
 * CPU seconds (user + system, all threads) of a process, or null off Linux.
 *
 * @param {number | "self"} pid
 * @returns {number | null}
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : null; // USER_HZ is 100.
  } catch {
    return null;
  }
}

/**
 * Busy CPU seconds of the whole machine since boot, or null off Linux.
 *
 * @returns {number | null}
 */
export function machineCpuSeconds() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal ...
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = ticks.reduce(
      (sum, value, i) => i === 3 || i === 4 ? sum : sum + value,
      0,
    );
    return Number.isFinite(busy) ? busy / 100 : null;
  } catch {
    return null;
  }
}

/**
 * The peak resident memory of this process (VmHWM), or null off Linux.
 *
 * @returns {number | null}
 */
function peakRssBytes() {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** @param {number} ms */
export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves with `promise`, or with `fallback` after `ms`.
 *
 * @template T, F
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {F} fallback
 * @returns {Promise<T | F>}
 */
export async function within(promise, ms, fallback) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {Promise<F>} */
  const expired = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one measurement: opens the connections with `open` (which must
 * resolve once the socket is open, having set the connection's `transmit`
 * and `close`, and reject or resolve false when it could not open), keeps
 * `inflight` messages outstanding on each, counts echoes over the window,
 * drains, closes, prints the report and exits.
 *
 * @param {object} client
 * @param {string} client.name
 * @param {string} client.runtime
 * @param {ClientArgs} client.args
 * @param {(conn: LoadConn, url: string) => Promise<boolean>} client.open
 * @param {Load} [client.load] The load, when the client made it first (to
 *   report errors through it).
 * @returns {Promise<never>}
 */
export async function runLoad({ name, runtime, args, open, load }) {
  load ??= new Load(new Messages(args.size, args.binary));
  const shared = load;
  const opened = await Promise.all(
    Array.from({ length: args.connections }, async (_, index) => {
      const conn = new LoadConn(index, shared);
      /** @type {boolean} */
      let ok;
      try {
        ok = await within(open(conn, args.url), 10_000, false);
      } catch (error) {
        shared.fail("socket", `socket ${index}: ${error}`);
        ok = false;
      }
      return ok ? conn : null;
    }),
  );
  /** @type {LoadConn[]} */
  const conns = opened.filter((conn) => conn !== null);
  if (conns.length < args.connections) {
    const missing = args.connections - conns.length;
    load.fail("connect", `${missing} socket(s) did not open`, missing);
    load.running = false;
  }

  let counted = 0;
  let elapsed = 0;
  /** @type {number | null} */
  let clientCpu = null;
  /** @type {number | null} */
  let serverCpu = null;
  /** @type {number | null} */
  let machineCpu = null;
  /** @type {(a: number | null, b: number | null) => number | null} */
  const difference = (a, b) => a === null || b === null ? null : b - a;
  if (load.running) {
    for (const conn of conns) {
      for (let k = 0; k < args.inflight; k++) conn.sendNext();
    }
    await delay(args.warmup * 1000);
    const startCount = load.roundTrips;
    const startTime = performance.now();
    const startClientCpu = cpuSeconds("self");
    const startServerCpu = args.serverPid === undefined
      ? null
      : cpuSeconds(args.serverPid);
    const startMachineCpu = machineCpuSeconds();
    await delay(args.seconds * 1000);
    counted = load.roundTrips - startCount;
    elapsed = (performance.now() - startTime) / 1000;
    clientCpu = difference(startClientCpu, cpuSeconds("self"));
    serverCpu = args.serverPid === undefined
      ? null
      : difference(startServerCpu, cpuSeconds(args.serverPid));
    machineCpu = difference(startMachineCpu, machineCpuSeconds());
    load.running = false;
    for (const conn of conns) {
      if (conn.received >= conn.sent) conn.resolveIdle();
    }
    await within(Promise.all(conns.map((conn) => conn.idle)), 10_000, 0);
    let missing = 0;
    for (const conn of conns) missing += Math.max(0, conn.sent - conn.received);
    if (missing > 0) {
      load.fail("unanswered", `${missing} message(s) never echoed`, missing);
    }
  }

  load.closing = true;
  for (const conn of conns) {
    try {
      conn.close();
    } catch (error) {
      load.fail("socket", `socket ${conn.index}: close: ${error}`);
    }
  }
  const closed = await within(
    Promise.all(conns.map((conn) => conn.closed)),
    5_000,
    "timeout",
  );
  if (closed === "timeout") {
    load.fail("closeTimeout", "a close handshake did not finish within 5 s");
  }

  /** @type {ClientReport} */
  const report = {
    client: name,
    runtime,
    roundTrips: counted,
    seconds: elapsed,
    clientCpuSeconds: clientCpu,
    serverCpuSeconds: serverCpu,
    machineCpuSeconds: machineCpu,
    peakRssBytes: peakRssBytes(),
    errors: load.errors,
    firstError: load.firstError,
  };
  console.log(JSON.stringify(report));
  // process.exit lets `--cpu-prof` write its profile, in Deno as in Node.
  process.exit(0);
}
