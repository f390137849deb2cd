/**
 * Echo load benchmark: round trips per second (and MB/s) of socketry's two
 * backends against raw `Deno.upgradeWebSocket` and Node's `ws`, measured in
 * one run with the servers interleaved, so that the ratios hold even when
 * the machine's speed drifts.
 *
 *     deno run -A bench/echo_load.ts [--connections 50] [--seconds 5]
 *         [--rounds 3] [--sizes 64,16384] [--inflight 1] [--warmup 1]
 *         [--servers raw,native,engine,ws] [--extra NAME=SCRIPT]...
 *         [--binary] [--compression] [--payload random|json]
 *         [--baseline NAME] [--goal RATIO]
 *
 * Compressed echo of 1 KiB JSON-like text, the engine's `--compression`
 * against `ws` with `perMessageDeflate` (messages/s, server CPU per round
 * trip and the compression ratio each way):
 *
 *     deno run -A bench/echo_load.ts --servers engine,ws --compression \
 *         --sizes 1024 --connections 50 --rounds 5
 *
 * The servers (`bench/helpers/echo_servers.ts`), each its own child process
 * started once, on a port the system picks (`--port 0`, read back from its
 * `Listening on` line):
 *
 * - `raw`: `bench/servers/raw_deno_echo.ts`, `Deno.upgradeWebSocket` with
 *   `socket.onmessage = (e) => socket.send(e.data)`;
 * - `native`: the sample, `examples/echo/main.ts` (socketry middleware,
 *   processor, `message` events on Deno's own WebSocket);
 * - `engine`: the sample with `--backend engine`, socketry's own RFC 6455
 *   engine (with `--compression`, the sample's `--compression`:
 *   `dangerouslyEnableCompression: true`, socketry's defaults);
 * - `ws`: `bench/servers/ws_echo.mjs`, Node's `ws` package
 *   (`perMessageDeflate: false`; with `--compression` ws's defaults with
 *   `threshold: 0`, see that file), run with `node`;
 * - `--extra NAME=SCRIPT`: any script taking `--port` and `--hostname`
 *   (and `--compression`, passed on with `--compression`), printing the
 *   `Listening on` line and echoing on `/ws` (a copy of socketry at another
 *   commit, say); `.mjs`, `.cjs` and `.js` scripts run with `node`, the rest
 *   with Deno.
 *
 * For each message size and each round, every server gets one measurement,
 * in an order rotated by one each round (ABC, BCA, CAB, ...). A measurement
 * is a fresh client child process (this file with `--as-client`) that opens
 * `--connections` sockets; each socket sends a text message (a binary one
 * with `--binary`) of the given size, waits for its echo, checks that it is
 * exactly what it sent (same type, same bytes), and sends the next
 * (`--inflight` messages outstanding per socket: each echo sends one more,
 * and echoes must come back in order). Round trips are counted over
 * `--seconds` after `--warmup` seconds. A socket cycles through 8 fixed
 * messages (more with `--compression`, see below), so a stale or reordered
 * echo is caught too; every server gets the very same bytes (printable
 * ASCII, so text and binary carry the same payload).
 *
 * `--payload`: `random` (the default without `--compression`) draws the
 * messages' characters at random from 69 letters, digits and punctuation;
 * `json` (the default with it) makes each message a different JSON event of
 * exactly the given size (ids, timestamps, names, a list of items with
 * prices, a hex trace id, a padding note of words; `makeJsonMessages` in
 * `bench/helpers/deflate_client.ts`), compressible like real traffic. With
 * `--compression` or `json` a socket cycles through as many messages as
 * fill 64 KiB (64 at 1 KiB; 8 at least), so that no message is still in
 * DEFLATE's 32 KiB window when it comes round again: each compresses
 * against its predecessors, as real traffic does, not to a 10-byte
 * back-reference to its own last copy.
 *
 * `--compression` (permessage-deflate, RFC 7692; `--client tcp` only): every
 * socket offers plain `permessage-deflate` (context takeover both ways,
 * 15-bit windows: what browsers get), and the run fails loudly (error kind
 * `negotiation`) if a server does not agree, or names a server that cannot
 * compress (`raw`, `events`, `iter`). The client sends each message as one
 * RSV1 frame of raw DEFLATE from `node:zlib` (level 6, sync flush, the
 * trailing `00 00 ff ff` stripped), its context kept across messages; it
 * inflates every echo with its own per-socket `node:zlib` context (the
 * trailer restored) and checks it as above. An echo without RSV1 is an
 * error (kind `uncompressed`): both servers compress every message (the
 * socketry sample's threshold is 0; ws's threshold does not apply with
 * context takeover). To keep the client cheap (inflating 1 KiB costs it
 * ~3 µs, deflating ~20 µs, and more with many cold contexts), zlib runs
 * synchronously on the stream's handle (`bench/helpers/deflate_client.ts`), and a
 * socket deflates only its first 32 KiB of messages itself: from then on
 * its window holds nothing but the cycle, so the compressed frame of each
 * message is the same for every socket and computed once (a deflater run
 * through the cycle twice). The server sees exactly a client compressing
 * with context takeover; the echo check proves it inflated every message
 * right. The report adds the compression ratio each way over the window
 * (compressed payload bytes over message bytes, frame headers not counted;
 * client to server is the client's own DEFLATE, the same for every server)
 * and each server's `Sec-WebSocket-Extensions` answer.
 *
 * Throughput: MB/s is payload bytes echoed per second, 10^6 bytes a MB,
 * each round trip counted once (round trips/s × message size): the bytes
 * that crossed the wire in each direction, not the sum of both directions.
 *
 * The client speaks RFC 6455 itself over `Deno.connect` with `TCP_NODELAY`,
 * each frame pre-masked and written in one call, echoes compared word-wise
 * without allocating. It costs little CPU, so the servers, not the client,
 * set the pace. (Deno's built-in `WebSocket` client cannot be used: it turns
 * `TCP_NODELAY` off and writes a frame's header and payload in two calls, so
 * from 1,025 B to 16 KiB every round trip waits ~44 ms for a delayed ACK.)
 *
 * Why a client process per measurement rather than clients in this process:
 * every server then meets an identical client (fresh heap, fresh JIT state,
 * no sockets of the previous measurement still closing in its event loop),
 * this process stays idle and cannot perturb the measurement, the client's
 * own CPU time is measured per measurement, and a stuck client is killed
 * without taking the run down. Starting it costs ~0.1 s, outside the
 * measured window. On Linux the client also reads the server's and its own
 * CPU time from `/proc` at the window's edges (`srv µs/rt` is the server's
 * CPU time per round trip): when the server is not the bottleneck (a busy
 * machine, a slow client), round trips/s understate a difference that CPU
 * time per round trip still shows.
 *
 * `--baseline NAME` picks the server the ratios are taken over: by default
 * `raw` when it runs, else `ws` when it runs, else the first server; when
 * `ws` runs and is not the baseline, a second ratio is taken over it.
 * `--goal` is the ratio a server must reach (default 0.95 over `raw`, 1.0
 * over anything else).
 *
 * Prints a table per size (median round trips/s and MB/s over rounds, ratio
 * to the baseline) and a JSON summary line. Exits 1 when an echo
 * mismatched, a connection failed or closed early, or a server or client
 * misbehaved. The servers are killed by PID at the end, also on failure or
 * Ctrl-C.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  type AgreedDeflate,
  DEFLATE_OFFER,
  makeJsonMessages,
  parseDeflateResponse,
  SyncDeflater,
  SyncInflater,
} from "./helpers/deflate_client.ts";
import {
  delay,
  measureThenStopAll,
  nodeVersion,
  positive,
  runForReport,
  scriptCommand,
  stopAllOnSignal,
  within,
} from "./helpers/children.ts";
import {
  BUSY_PERCENT,
  type CpuFigures,
  cpuFigures,
  cpuSeconds,
  machineCpuSeconds,
} from "./helpers/cpu.ts";
import {
  ECHO_SERVERS,
  pickServers,
  type RunningServer,
  type ServerSpec,
  startEchoServer,
} from "./helpers/echo_servers.ts";
import { addCounts, finish } from "./helpers/outcome.ts";
import {
  clientFrame,
  handshake,
  headerValue,
  writeAll,
} from "./helpers/raw_client.ts";
import { measureInTurns, rateFigures } from "./helpers/rounds.ts";
import { knownMedian, rounded } from "./helpers/stats.ts";
import {
  formatBytes,
  formatMegabytes,
  formatRate,
  table,
} from "./helpers/table.ts";

// ---- shared -----------------------------------------------------------------

/** What a client process reports, as one JSON line on stdout. */
interface ClientReport {
  roundTrips: number;
  seconds: number;
  clientCpuSeconds: number | null;
  serverCpuSeconds: number | null;
  /** CPU time used by the whole machine (all processes, all cores). */
  machineCpuSeconds: number | null;
  errors: ClientErrors;
  firstError: string | null;
  /** With `--compression`: the server's `Sec-WebSocket-Extensions` answer. */
  extensions: string | null;
  /** Payload bytes over the window, before and after compression. */
  wire: WireCounts;
}

/** Message payload bytes: `plain` as the application sees them, `wire` as framed. */
interface WireCounts {
  plainSent: number;
  wireSent: number;
  plainReceived: number;
  wireReceived: number;
}

interface ClientErrors {
  /** Sockets that did not open. */
  connect: number;
  /** Echoes that differed from what was sent (or had the wrong type). */
  mismatch: number;
  /** Sockets that closed before the client closed them. */
  closedEarly: number;
  /** `error` events. */
  socket: number;
  /** Messages still unanswered 10 s after the window ended. */
  unanswered: number;
  /** Sockets whose close handshake did not finish in time. */
  closeTimeout: number;
  /** With `--compression`: sockets whose server did not agree to permessage-deflate. */
  negotiation: number;
  /** With `--compression`: echoes that came back uncompressed (RSV1 clear). */
  uncompressed: number;
}

/**
 * How many different messages a socket cycles through: 8, or with
 * compression or JSON payloads enough for the cycle to span 64 KiB, twice
 * DEFLATE's 32 KiB window, so that no message is still in the window when it
 * comes round again (which would compress it to a few bytes).
 */
function variantCount(size: number): number {
  return compression || payload === "json"
    ? Math.max(8, Math.ceil(65536 / size))
    : 8;
}

/**
 * `count` printable ASCII messages of `size` bytes, the same on every run
 * (a fixed-seed xorshift), so that every server echoes the same bytes. A
 * socket cycles through them, which also catches echoes out of order.
 */
function makeMessages(size: number, count: number): string[] {
  const alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;-_";
  let state = 0x9e3779b9;
  const messages: string[] = [];
  for (let v = 0; v < count; v++) {
    const chars = new Array<string>(size);
    for (let i = 0; i < size; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      chars[i] = alphabet[(state >>> 0) % alphabet.length]!;
    }
    messages.push(chars.join(""));
  }
  return messages;
}

function noErrors(): ClientErrors {
  return {
    connect: 0,
    mismatch: 0,
    closedEarly: 0,
    socket: 0,
    unanswered: 0,
    closeTimeout: 0,
    negotiation: 0,
    uncompressed: 0,
  };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connections: { type: "string", default: "50" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    sizes: { type: "string", default: "64,16384" },
    inflight: { type: "string", default: "1" },
    warmup: { type: "string", default: "1" },
    servers: { type: "string", default: "raw,native,engine,ws" },
    extra: { type: "string", multiple: true, default: [] },
    binary: { type: "boolean", default: false },
    compression: { type: "boolean", default: false },
    payload: { type: "string" },
    baseline: { type: "string" },
    goal: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
    // Internal: run as the client of one measurement.
    "as-client": { type: "boolean", default: false },
    url: { type: "string" },
    size: { type: "string" },
    "server-pid": { type: "string" },
  },
});

if (values.help) {
  console.log(
    "Usage: deno run -A bench/echo_load.ts [--connections 50] [--seconds 5] [--rounds 3] [--sizes 64,16384] [--inflight 1] [--warmup 1] [--servers raw,native,engine,ws] [--extra NAME=SCRIPT]... [--binary] [--compression] [--payload random|json] [--baseline NAME] [--goal RATIO]",
  );
  Deno.exit(0);
}

const connections = positive("connections", values.connections);
const seconds = positive("seconds", values.seconds, false);
const rounds = positive("rounds", values.rounds);
const inflight = positive("inflight", values.inflight);
const binary = values.binary;
const compression = values.compression;
const payload = values.payload ?? (compression ? "json" : "random");
if (payload !== "random" && payload !== "json") {
  console.error(`--payload must be random or json, got ${payload}`);
  Deno.exit(2);
}
const warmup = Number(values.warmup);
if (!(warmup >= 0)) {
  console.error(`--warmup must be a number >= 0, got ${values.warmup}`);
  Deno.exit(2);
}

// ---- client (one measurement) -----------------------------------------------

/** What one measurement's client shares between its connections. */
class Load {
  running = true;
  closing = false;
  roundTrips = 0;
  firstError: string | null = null;
  readonly errors: ClientErrors = noErrors();
  readonly wire: WireCounts = {
    plainSent: 0,
    wireSent: 0,
    plainReceived: 0,
    wireReceived: 0,
  };
  /** With `--compression`: what the first server answer agreed to. */
  agreed: AgreedDeflate | undefined;
  readonly variants: number;

  constructor(
    readonly texts: readonly string[],
    readonly frames: Frames,
    /** With `--compression`: the frames shared by every connection. */
    readonly deflateFrames: DeflateFrames | undefined,
  ) {
    this.variants = texts.length;
  }

  fail(kind: keyof ClientErrors, message: string, count = 1): void {
    this.errors[kind] += count;
    this.firstError ??= message;
  }
}

/**
 * One client connection. Connection `index` sends variant
 * `(index + n) % variants` as its n-th message and expects the same back.
 */
abstract class LoadConn {
  sent = 0;
  received = 0;
  readonly idle = Promise.withResolvers<void>();
  readonly closed = Promise.withResolvers<void>();

  constructor(readonly index: number, readonly load: Load) {}

  /** The variant the next echo must carry. */
  get expected(): number {
    return (this.index + this.received) % this.load.variants;
  }

  sendNext(): void {
    const variant = (this.index + this.sent) % this.load.variants;
    this.sent++;
    this.transmit(variant);
  }

  /** Called for every echo, after the backend checked it. */
  echoed(ok: boolean, what: string): void {
    this.received++;
    const load = this.load;
    load.roundTrips++;
    if (!ok) {
      load.fail(
        "mismatch",
        `socket ${this.index}: echo ${this.received} differs from what was sent (${what})`,
      );
    }
    if (load.running) this.sendNext();
    else if (this.received >= this.sent) this.idle.resolve();
  }

  /** Called once when the connection is gone, however it went. */
  ended(description: string): void {
    if (!this.load.closing) {
      this.load.fail(
        "closedEarly",
        `socket ${this.index} closed early: ${description}`,
      );
    }
    this.idle.resolve();
    this.closed.resolve();
  }

  protected abstract transmit(variant: number): void;
  /** Starts the close handshake (1000). */
  abstract close(): void;
}

/**
 * The masked client frames and the expected payloads of every variant,
 * computed once: sending is then a single write of ready bytes. The masks are
 * fixed, so every server receives the very same bytes.
 */
class Frames {
  readonly frames: Uint8Array[] = [];
  readonly payloads: Uint8Array[] = [];
  readonly words: Int32Array[] = [];
  readonly scratch: Uint8Array;
  readonly scratchWords: Int32Array;

  /** `opcode`: 0x1 (text) or 0x2 (binary), for every frame. */
  constructor(texts: readonly string[], readonly opcode: number) {
    const encoder = new TextEncoder();
    let longest = 0;
    for (const [variant, text] of texts.entries()) {
      const payload = encoder.encode(text);
      const frame = clientFrame(opcode, payload, {
        mask: variantMask(variant),
      });
      this.frames.push(frame);
      const padded = new Uint8Array((payload.byteLength + 3) & ~3);
      padded.set(payload);
      this.payloads.push(payload);
      this.words.push(new Int32Array(padded.buffer));
      longest = Math.max(longest, padded.byteLength);
    }
    this.scratch = new Uint8Array(longest);
    this.scratchWords = new Int32Array(this.scratch.buffer);
  }

  /** Whether `data` equals the payload of `variant`, without allocating. */
  matches(data: Uint8Array, variant: number): boolean {
    const payload = this.payloads[variant]!;
    const length = data.byteLength;
    if (length !== payload.byteLength) return false;
    if (length < 64) {
      for (let i = 0; i < length; i++) {
        if (data[i] !== payload[i]) return false;
      }
      return true;
    }
    // Word-wise on an aligned copy (a native memcpy), then the tail.
    const scratch = this.scratch;
    scratch.set(data);
    const words = length >>> 2;
    const mine = this.scratchWords;
    const theirs = this.words[variant]!;
    for (let i = 0; i < words; i++) {
      if (mine[i] !== theirs[i]) return false;
    }
    for (let i = words << 2; i < length; i++) {
      if (scratch[i] !== payload[i]) return false;
    }
    return true;
  }
}

/** The fixed mask of a variant's frames (the same for every server). */
function variantMask(variant: number): number[] {
  return [0x5a, (0x3c + variant) & 0xff, 0xa5, (0xc3 - variant) & 0xff];
}

/**
 * With `--compression`: the frames connections send, RSV1 set, their
 * payloads raw DEFLATE from `node:zlib` (level 6, 15-bit window, context
 * taken over from message to message, sync flush, `00 00 ff ff` stripped).
 *
 * A connection compresses its first `prefix` messages itself, with its own
 * {@linkcode SyncDeflater}, until the 32 KiB window holds only messages of
 * the cycle. From then on the window's content depends only on which
 * variant comes next, so the compressed frame of each variant is computed
 * once here, by a deflater run through the cycle, and shared: any stream
 * whose last 32 KiB are the same inflates it to the same message. The
 * server's view is exactly that of a client compressing with context
 * takeover, the client's cost that of sending ready frames, and the echo
 * check still proves every message was inflated right.
 */
class DeflateFrames {
  /** Messages a connection compresses itself before using `steady`. */
  readonly prefix: number;
  /** The masked frame of each variant once the window is periodic. */
  readonly steady: Uint8Array[] = [];
  /** The compressed payload size of each `steady` frame. */
  readonly steadyWire: number[] = [];

  constructor(readonly payloads: readonly Uint8Array[], opcode: number) {
    const size = payloads[0]!.byteLength;
    this.prefix = Math.ceil(32768 / size);
    const deflater = new SyncDeflater();
    try {
      // One cycle fills the window (a cycle spans 64 KiB); the next is kept.
      for (const payload of payloads) deflater.deflate(payload);
      for (const [variant, payload] of payloads.entries()) {
        const compressed = deflater.deflate(payload);
        this.steadyWire.push(compressed.byteLength);
        this.steady.push(
          clientFrame(opcode, compressed, {
            mask: variantMask(variant),
            rsv1: true,
          }),
        );
      }
    } finally {
      deflater.close();
    }
  }
}

/** A connection speaking RFC 6455 itself over `Deno.connect`. */
class TcpConn extends LoadConn {
  #conn: Deno.TcpConn | undefined;
  #buffer: Uint8Array;
  #start = 0;
  #end = 0;
  #writing = false;
  #queue: Uint8Array[] = [];
  #fragments: Uint8Array[] = [];
  #fragmentOpcode = 0;
  #fragmentCompressed = false;
  #gotClose = false;
  #closeSent = false;
  /** With `--compression`: inflates the echoes (context kept). */
  #inflater: SyncInflater | undefined;
  /** With `--compression`: this socket's own compressor, while it needs one. */
  #deflater: SyncDeflater | undefined;
  /** Whether the shared steady frames fit the agreed parameters. */
  #steady = false;

  constructor(index: number, load: Load, readonly frames: Frames) {
    super(index, load);
    const largest = frames.frames.reduce(
      (max, f) => Math.max(max, f.length),
      0,
    );
    this.#buffer = new Uint8Array(Math.max(65536, 2 * largest));
  }

  async open(url: URL): Promise<boolean> {
    let declined = false;
    try {
      const conn = await Deno.connect({
        hostname: url.hostname,
        port: Number(url.port),
      });
      this.#conn = conn;
      conn.setNoDelay(true);
      const lines = await handshake(
        url,
        compression ? DEFLATE_OFFER : undefined,
        (bytes) => writeAll(conn, bytes),
        () => this.#readHead(),
      );
      if (compression) {
        let agreed: AgreedDeflate;
        try {
          agreed = parseDeflateResponse(
            headerValue(lines, "sec-websocket-extensions"),
          );
        } catch (error) {
          declined = true;
          this.load.fail(
            "negotiation",
            `socket ${this.index}: ${(error as Error).message}`,
          );
          throw error;
        }
        this.load.agreed ??= agreed;
        this.#inflater = new SyncInflater(this.frames.scratch.byteLength);
        // The shared frames assume a 15-bit window kept across messages.
        this.#steady = agreed.clientMaxWindowBits === 15 &&
          !agreed.clientNoContextTakeover;
        this.#deflater = new SyncDeflater(
          agreed.clientMaxWindowBits,
          agreed.clientNoContextTakeover,
        );
      }
      this.#readLoop();
      return true;
    } catch (error) {
      if (!declined) this.load.fail("socket", `socket ${this.index}: ${error}`);
      this.#conn?.close();
      this.#conn = undefined;
      return false;
    }
  }

  protected transmit(variant: number): void {
    const deflateFrames = this.load.deflateFrames;
    if (deflateFrames === undefined) {
      this.#send(this.frames.frames[variant]!);
      return;
    }
    const wire = this.load.wire;
    wire.plainSent += this.frames.payloads[variant]!.byteLength;
    if (this.#steady && this.sent > deflateFrames.prefix) {
      // `sent` counts this message: it is message number sent - 1.
      if (this.#deflater !== undefined) {
        this.#deflater.close();
        this.#deflater = undefined;
      }
      wire.wireSent += deflateFrames.steadyWire[variant]!;
      this.#send(deflateFrames.steady[variant]!);
      return;
    }
    const compressed = this.#deflater!.deflate(
      this.frames.payloads[variant]!,
    );
    wire.wireSent += compressed.byteLength;
    this.#send(
      clientFrame(this.frames.opcode, compressed, {
        mask: variantMask(variant),
        rsv1: true,
      }),
    );
  }

  close(): void {
    if (this.#conn === undefined || this.#closeSent || this.#gotClose) return;
    this.#closeSent = true;
    const payload = new Uint8Array([0x03, 0xe8]); // 1000
    this.#send(clientFrame(0x8, payload, { mask: [1, 2, 3, 4] }));
  }

  #send(frame: Uint8Array): void {
    if (this.#writing) {
      this.#queue.push(frame);
      return;
    }
    this.#writeQueue(frame);
  }

  async #writeQueue(first: Uint8Array): Promise<void> {
    this.#writing = true;
    try {
      let frame: Uint8Array | undefined = first;
      while (frame !== undefined) {
        await writeAll(this.#conn!, frame);
        frame = this.#queue.shift();
      }
    } catch (error) {
      if (!this.load.closing) {
        this.load.fail("socket", `socket ${this.index}: write: ${error}`);
      }
      this.#queue = [];
    } finally {
      this.#writing = false;
    }
  }

  /** Reads the HTTP response head; what follows it stays in the buffer. */
  async #readHead(): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const n = await this.#conn!.read(this.#buffer.subarray(this.#end));
      if (n === null) throw new Error("connection closed during handshake");
      this.#end += n;
      const text = new TextDecoder().decode(
        this.#buffer.subarray(0, this.#end),
      );
      const at = text.indexOf("\r\n\r\n");
      if (at !== -1) {
        // The head is ASCII, so characters are bytes.
        this.#start = at + 4;
        this.#compact();
        return text.slice(0, at);
      }
      if (this.#end === this.#buffer.length) break;
    }
    throw new Error("no complete handshake response");
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn!;
    let how = "the server ended the connection";
    try {
      while (!this.#gotClose) {
        const n = await conn.read(this.#buffer.subarray(this.#end));
        if (n === null) break;
        this.#end += n;
        this.#parse();
      }
      if (this.#gotClose) how = "close frame";
    } catch (error) {
      how = String(error);
      if (!this.load.closing) {
        this.load.fail("socket", `socket ${this.index}: read: ${error}`);
      }
    }
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    this.#inflater?.close();
    this.#deflater?.close();
    this.#inflater = this.#deflater = undefined;
    this.ended(how);
  }

  #parse(): void {
    const buffer = this.#buffer;
    while (true) {
      const start = this.#start;
      const available = this.#end - start;
      if (available < 2) break;
      const b0 = buffer[start]!;
      const b1 = buffer[start + 1]!;
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (available < 4) break;
        length = (buffer[start + 2]! << 8) | buffer[start + 3]!;
        header = 4;
      } else if (length === 127) {
        if (available < 10) break;
        length = Number(
          new DataView(buffer.buffer, buffer.byteOffset + start + 2, 8)
            .getBigUint64(0),
        );
        header = 10;
      }
      if (b1 & 0x80) header += 4; // A masked server frame: an error below.
      const total = header + length;
      if (available < total) {
        if (total > buffer.length) this.#grow(total);
        break;
      }
      this.#start = start + total;
      this.#frame(b0, b1, buffer.subarray(start + header, start + total));
      if (this.#gotClose) return;
    }
    this.#compact();
  }

  #frame(b0: number, b1: number, payload: Uint8Array): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if (b1 & 0x80) {
      this.echoed(false, "the server masked its frame");
      return;
    }
    const rsv1 = (b0 & 0x40) !== 0;
    if (
      (b0 & 0x30) !== 0 ||
      (rsv1 && (this.#inflater === undefined || opcode === 0 || opcode >= 8))
    ) {
      this.echoed(
        false,
        `reserved bits ${(b0 >> 4) & 7} on a frame of opcode ${opcode}`,
      );
      return;
    }
    if (opcode === 0x8) {
      this.#gotClose = true;
      if (!this.load.closing) {
        const code = payload.byteLength >= 2
          ? (payload[0]! << 8) | payload[1]!
          : 1005;
        this.load.fail(
          "closedEarly",
          `socket ${this.index}: the server closed with ${code}`,
        );
      }
      if (!this.#closeSent) {
        this.#closeSent = true;
        this.#send(clientFrame(0x8, payload.slice(), { mask: [1, 2, 3, 4] }));
      }
      return;
    }
    if (opcode === 0x9) {
      this.#send(clientFrame(0xa, payload.slice(), { mask: [4, 3, 2, 1] }));
      return;
    }
    if (opcode === 0xa) return;
    if (!fin || opcode === 0x0) {
      // Fragmented echo: join it (servers here never fragment, but may).
      if (opcode !== 0x0) {
        this.#fragmentOpcode = opcode;
        this.#fragmentCompressed = rsv1;
      }
      this.#fragments.push(payload.slice());
      if (!fin) return;
      const parts = this.#fragments;
      this.#fragments = [];
      const whole = new Uint8Array(
        parts.reduce((sum, part) => sum + part.byteLength, 0),
      );
      let offset = 0;
      for (const part of parts) {
        whole.set(part, offset);
        offset += part.byteLength;
      }
      this.#message(this.#fragmentOpcode, whole, this.#fragmentCompressed);
      return;
    }
    this.#message(opcode, payload, rsv1);
  }

  #message(opcode: number, payload: Uint8Array, compressed: boolean): void {
    const inflater = this.#inflater;
    if (inflater !== undefined) {
      const wire = this.load.wire;
      wire.wireReceived += payload.byteLength;
      if (compressed) {
        try {
          payload = inflater.inflate(payload);
        } catch (error) {
          this.echoed(false, `not valid DEFLATE: ${error}`);
          return;
        }
      } else {
        this.load.fail(
          "uncompressed",
          `socket ${this.index}: an echo of ${payload.byteLength} bytes came back uncompressed (RSV1 clear)`,
        );
      }
      wire.plainReceived += payload.byteLength;
    }
    if (opcode !== this.frames.opcode) {
      this.echoed(
        false,
        `opcode ${opcode} instead of ${
          this.frames.opcode === 0x1 ? "text" : "binary"
        }`,
      );
      return;
    }
    this.echoed(
      this.frames.matches(payload, this.expected),
      `${payload.byteLength} bytes`,
    );
  }

  #compact(): void {
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
  }

  #grow(size: number): void {
    const bigger = new Uint8Array(Math.max(size, 2 * this.#buffer.length));
    bigger.set(this.#buffer.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = bigger;
  }
}

async function runClient(): Promise<never> {
  const url = new URL(values.url!);
  const size = positive("size", values.size ?? "");
  const serverPid = values["server-pid"] === undefined
    ? undefined
    : Number(values["server-pid"]);
  const count = variantCount(size);
  const texts = payload === "json"
    ? makeJsonMessages(size, count)
    : makeMessages(size, count);
  const opcode = binary ? 0x2 : 0x1;
  const plainFrames = new Frames(texts, opcode);
  const load = new Load(
    texts,
    plainFrames,
    compression ? new DeflateFrames(plainFrames.payloads, opcode) : undefined,
  );

  const opened = await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const conn = new TcpConn(index, load, load.frames);
      return await within(conn.open(url), 10_000, false) ? conn : null;
    }),
  );
  const conns = opened.filter((conn) => conn !== null);
  if (conns.length < connections) {
    const missing = connections - conns.length;
    load.fail("connect", `${missing} socket(s) did not open`, missing);
    load.running = false;
  }

  let counted = 0;
  let elapsed = 0;
  let clientCpu: number | null = null;
  let serverCpu: number | null = null;
  let machineCpu: number | null = null;
  const wire: WireCounts = {
    plainSent: 0,
    wireSent: 0,
    plainReceived: 0,
    wireReceived: 0,
  };
  if (load.running) {
    for (const conn of conns) {
      for (let k = 0; k < inflight; k++) conn.sendNext();
    }
    await delay(warmup * 1000);
    const startCount = load.roundTrips;
    const startWire = { ...load.wire };
    const startTime = performance.now();
    const startClientCpu = cpuSeconds("self");
    const startServerCpu = serverPid === undefined
      ? null
      : cpuSeconds(serverPid);
    const startMachineCpu = machineCpuSeconds();
    await delay(seconds * 1000);
    counted = load.roundTrips - startCount;
    for (const key of Object.keys(wire) as (keyof WireCounts)[]) {
      wire[key] = load.wire[key] - startWire[key];
    }
    elapsed = (performance.now() - startTime) / 1000;
    const endClientCpu = cpuSeconds("self");
    const endServerCpu = serverPid === undefined ? null : cpuSeconds(serverPid);
    const endMachineCpu = machineCpuSeconds();
    load.running = false;
    if (startMachineCpu !== null && endMachineCpu !== null) {
      machineCpu = endMachineCpu - startMachineCpu;
    }
    if (startClientCpu !== null && endClientCpu !== null) {
      clientCpu = endClientCpu - startClientCpu;
    }
    if (startServerCpu !== null && endServerCpu !== null) {
      serverCpu = endServerCpu - startServerCpu;
    }
    for (const conn of conns) {
      if (conn.received >= conn.sent) conn.idle.resolve();
    }
    await within(
      Promise.all(conns.map((conn) => conn.idle.promise)),
      10_000,
      0,
    );
    let missing = 0;
    for (const conn of conns) missing += Math.max(0, conn.sent - conn.received);
    if (missing > 0) {
      load.fail("unanswered", `${missing} message(s) never echoed`, missing);
    }
  }

  load.closing = true;
  for (const conn of conns) conn.close();
  const closed = await within(
    Promise.all(conns.map((conn) => conn.closed.promise)),
    5_000,
    "timeout",
  );
  if (closed === "timeout") {
    load.fail("closeTimeout", "a close handshake did not finish within 5 s");
  }

  const report: ClientReport = {
    roundTrips: counted,
    seconds: elapsed,
    clientCpuSeconds: clientCpu,
    serverCpuSeconds: serverCpu,
    machineCpuSeconds: machineCpu,
    errors: load.errors,
    firstError: load.firstError,
    extensions: load.agreed?.response ?? null,
    wire,
  };
  console.log(JSON.stringify(report));
  Deno.exit(0);
}

// ---- controller ---------------------------------------------------------------

interface Measurement extends CpuFigures {
  size: number;
  round: number;
  position: number;
  server: string;
  roundTripsPerSecond: number;
  megabytesPerSecond: number;
  /** Wire payload bytes over plain payload bytes, client to server. */
  sentRatio: number | null;
  /** Wire payload bytes over plain payload bytes, server to client. */
  receivedRatio: number | null;
  extensions: string | null;
}

const ALL_SERVERS: readonly ServerSpec[] = [
  ECHO_SERVERS.raw,
  ECHO_SERVERS.native,
  ECHO_SERVERS.engine,
  ECHO_SERVERS.ws,
];

async function measure(
  server: RunningServer,
  size: number,
): Promise<ClientReport> {
  const [command, args] = scriptCommand(
    { runtime: "deno", script: fileURLToPath(import.meta.url) },
    [
      "--as-client",
      "--url",
      server.url,
      "--size",
      String(size),
      "--server-pid",
      String(server.child.pid),
      "--connections",
      String(connections),
      "--seconds",
      String(seconds),
      "--warmup",
      String(warmup),
      "--inflight",
      String(inflight),
      ...(binary ? ["--binary"] : []),
      ...(compression ? ["--compression"] : []),
      "--payload",
      payload,
    ],
    // Deno grants /proc files only with all permissions.
    "--allow-all",
  );
  const limit = (warmup + seconds) * 1000 + 45_000;
  return JSON.parse(
    await runForReport(
      command,
      args,
      limit,
      `client against ${server.spec.key}`,
    ),
  ) as ClientReport;
}

async function runController(): Promise<void> {
  const sizes = values.sizes.split(",").map((text) =>
    positive("sizes", text.trim())
  );
  // --extra: any server script that takes --port and --hostname, prints
  // the Listening line and echoes on /ws, such as a patched copy of socketry.
  const specs = pickServers(
    values.servers,
    values.extra,
    ALL_SERVERS,
    compression,
    (key, script) => `${key} (${script})`,
  );
  const keysSeen = new Set<string>();
  for (const spec of specs) {
    if (keysSeen.has(spec.key)) {
      console.error(`server ${spec.key} named twice`);
      Deno.exit(2);
    }
    keysSeen.add(spec.key);
  }
  const baseline = values.baseline ??
    (keysSeen.has("raw") ? "raw" : keysSeen.has("ws") ? "ws" : specs[0]!.key);
  if (!keysSeen.has(baseline)) {
    console.error(`--baseline ${baseline} is not among the servers`);
    Deno.exit(2);
  }
  const goal = values.goal === undefined
    ? (baseline === "raw" ? 0.95 : 1.0)
    : positive("goal", values.goal, false);
  // The engine's reference is ws: its ratios too when ws runs beside raw.
  const overWs = baseline !== "ws" && keysSeen.has("ws");

  stopAllOnSignal("servers");

  const measurements: Measurement[] = [];
  const problems: string[] = [];
  const totalErrors: ClientErrors = noErrors();
  await measureThenStopAll(problems, async () => {
    const servers: RunningServer[] = [];
    for (const spec of specs) {
      servers.push(
        await startEchoServer(spec, compression ? ["--compression"] : []),
      );
    }

    console.log(
      `Echo load: ${connections} connections, ${inflight} in flight each, ` +
        `${binary ? "binary" : "text"} messages (${payload}` +
        `${
          compression ? `, permessage-deflate offered: ${DEFLATE_OFFER}` : ""
        }), ` +
        `${rounds} round(s) of ${seconds} s after ${warmup} s warm-up; ` +
        `Deno ${Deno.version.deno}, Node ${nodeVersion()}, ` +
        `${navigator.hardwareConcurrency} CPU(s)`,
    );
    for (const server of servers) {
      console.log(
        `  ${
          server.spec.key.padEnd(6)
        } ${server.spec.label} on ${server.url} (pid ${server.child.pid})`,
      );
    }

    await measureInTurns(
      sizes,
      rounds,
      servers,
      async (size, round, position, server) => {
        if (server.exited) {
          throw new Error(
            `the ${server.spec.key} server exited:\n${
              server.output.join("\n")
            }`,
          );
        }
        const report = await measure(server, size);
        const rate = report.seconds > 0
          ? report.roundTrips / report.seconds
          : 0;
        addCounts(totalErrors, report.errors);
        if (report.firstError !== null) {
          problems.push(
            `${server.spec.key}, ${formatBytes(size)}, round ${
              round + 1
            }: ${report.firstError}`,
          );
        }
        const ratioOf = (wire: number, plain: number) =>
          !compression || plain === 0 ? null : wire / plain;
        const last: Measurement = {
          size,
          round,
          position,
          server: server.spec.key,
          roundTripsPerSecond: rate,
          megabytesPerSecond: (rate * size) / 1e6,
          ...cpuFigures(report),
          sentRatio: ratioOf(report.wire.wireSent, report.wire.plainSent),
          receivedRatio: ratioOf(
            report.wire.wireReceived,
            report.wire.plainReceived,
          ),
          extensions: report.extensions,
        };
        measurements.push(last);
        const cpu = (label: string, value: number | null) =>
          value === null ? "" : `  ${label} ${Math.round(value)}%`;
        console.log(
          `  ${formatBytes(size).padStart(8)}  round ${round + 1}  ${
            server.spec.key.padEnd(8)
          } ${formatRate(rate).padStart(9)} rt/s` +
            ` ${formatMegabytes(last.megabytesPerSecond).padStart(7)} MB/s` +
            cpu("server CPU", last.serverCpuPercent) +
            cpu("client", last.clientCpuPercent) +
            cpu("other", last.otherCpuPercent) +
            (last.receivedRatio === null || last.sentRatio === null
              ? ""
              : `  wire/plain c→s ${last.sentRatio.toFixed(3)} s→c ${
                last.receivedRatio.toFixed(3)
              }`) +
            (report.firstError === null ? "" : `  ERROR ${report.firstError}`),
        );
      },
    );
  });

  // ---- report -----------------------------------------------------------------
  const summary: Record<string, unknown>[] = [];
  const verdicts: string[] = [];
  const percent = (values: (number | null)[]) => {
    const middle = knownMedian(values);
    return middle === null ? null : Math.round(middle);
  };
  for (const size of sizes) {
    const rows: string[][] = [[
      "server",
      "rt/s median",
      "rt/s per round",
      "MB/s",
      "ratio",
      "paired",
      "srv µs/rt",
      "µs ratio",
      "srv CPU",
      "cli CPU",
      "other CPU",
      ...(overWs ? ["ws ratio", "ws µs ratio"] : []),
      ...(compression ? ["c→s wire/plain", "s→c wire/plain"] : []),
    ]];
    const ofServer = (key: string) =>
      measurements.filter((m) => m.size === size && m.server === key);
    const raw = ofServer(baseline);
    const microsOf = (list: Measurement[]) =>
      knownMedian(list.map((m) => m.serverMicrosPerRoundTrip));
    const rawMicros = microsOf(raw);
    const ws = ofServer("ws");
    const wsMicros = microsOf(ws);
    for (const spec of specs) {
      const mine = ofServer(spec.key);
      if (mine.length === 0) continue;
      // Paired: this server's rate over the baseline's in the same round,
      // medianed.
      const { rates, rate, megabytes, ratio, paired } = rateFigures(mine, raw);
      const micros = microsOf(mine);
      const cpuRatio = micros === null || rawMicros === null
        ? null
        : micros / rawMicros;
      const serverCpu = percent(mine.map((m) => m.serverCpuPercent));
      const clientCpu = percent(mine.map((m) => m.clientCpuPercent));
      const otherCpu = percent(mine.map((m) => m.otherCpuPercent));
      const sentRatio = knownMedian(mine.map((m) => m.sentRatio));
      const receivedRatio = knownMedian(mine.map((m) => m.receivedRatio));
      const ratioText = (value: number | null) =>
        value === null ? "-" : value.toFixed(3);
      const wsRatio = overWs ? rateFigures(mine, ws).ratio : null;
      const wsCpuRatio = micros === null || wsMicros === null
        ? null
        : micros / wsMicros;
      rows.push([
        spec.label,
        formatRate(rate),
        mine.map((m) =>
          formatRate(m.roundTripsPerSecond) +
          ((m.otherCpuPercent ?? 0) > BUSY_PERCENT ? "*" : "")
        ).join(" / "),
        formatMegabytes(megabytes),
        ratio === null ? "-" : ratio.toFixed(3),
        paired === null ? "-" : paired.toFixed(3),
        micros === null ? "-" : micros.toFixed(1),
        cpuRatio === null ? "-" : cpuRatio.toFixed(3),
        serverCpu === null ? "-" : `${serverCpu}%`,
        clientCpu === null ? "-" : `${clientCpu}%`,
        otherCpu === null ? "-" : `${otherCpu}%`,
        ...(overWs ? [ratioText(wsRatio), ratioText(wsCpuRatio)] : []),
        ...(compression
          ? [ratioText(sentRatio), ratioText(receivedRatio)]
          : []),
      ]);
      summary.push({
        size,
        server: spec.key,
        roundTripsPerSecond: rates.map(Math.round),
        median: Math.round(rate),
        megabytesPerSecond: Number(megabytes.toFixed(3)),
        ratio: rounded(ratio, 4),
        pairedRatio: rounded(paired, 4),
        serverMicrosPerRoundTrip: rounded(micros, 2),
        serverMicrosRatio: rounded(cpuRatio, 4),
        ...(overWs
          ? {
            wsRatio: rounded(wsRatio, 4),
            wsMicrosRatio: rounded(wsCpuRatio, 4),
          }
          : {}),
        serverCpuPercent: serverCpu,
        clientCpuPercent: clientCpu,
        otherCpuPercent: otherCpu,
        ...(compression
          ? {
            extensions: mine.find((m) => m.extensions !== null)?.extensions ??
              null,
            compressionRatio: {
              clientToServer: rounded(sentRatio, 4),
              serverToClient: rounded(receivedRatio, 4),
            },
          }
          : {}),
      });
      if (spec.key !== baseline && ratio !== null) {
        verdicts.push(
          `${spec.key} ${formatBytes(size)}: ${
            ratio.toFixed(3)
          }× ${baseline} in messages/s and MB/s (paired ${
            paired?.toFixed(3) ?? "-"
          }×${
            cpuRatio === null
              ? ""
              : `, server CPU per round trip ${
                cpuRatio.toFixed(2)
              }× ${baseline}'s`
          }): ${ratio >= goal ? "meets" : "MISSES"} the ${goal}× goal${
            [...mine, ...raw].some((m) =>
                (m.otherCpuPercent ?? 0) > BUSY_PERCENT
              )
              ? " (disturbed: trust the µs ratio more)"
              : ""
          }`,
        );
      }
    }
    if (rows.length > 1) {
      console.log(
        `\n${formatBytes(size)} ${
          binary ? "binary" : "text"
        } messages, ${connections} connections, ` +
          `${inflight} in flight each; ratios over ${baseline}`,
      );
      console.log(
        table(rows, new Set(rows[0]!.keys().drop(1).filter((i) => i !== 2))),
      );
      if (compression) {
        for (const spec of specs) {
          const agreed = measurements.find((m) =>
            m.size === size && m.server === spec.key && m.extensions !== null
          )?.extensions;
          console.log(
            `  ${spec.key} agreed to: ${agreed ?? "(no measurement)"}`,
          );
        }
      }
    }
  }
  console.log(
    `\nMB/s: median payload bytes echoed per second (rt/s × size, 10^6 B a ` +
      `MB; each direction carries this much).\nratio: median rt/s over ` +
      `${baseline}'s median (the same for MB/s). paired: median over rounds ` +
      `of rt/s over ${baseline}'s in the same round.\nsrv µs/rt: server CPU ` +
      `time per round trip (µs ratio: over ${baseline}'s; the steadier ` +
      "figure when the machine is busy).\nCPU columns: % of one core during the window; " +
      `other = the rest of the machine (*: over ${BUSY_PERCENT}%, a ` +
      "disturbed measurement)." +
      (overWs
        ? "\nws ratio, ws µs ratio: the same over ws's (the engine's reference)."
        : "") +
      (compression
        ? "\nwire/plain: compressed payload bytes over message bytes in the " +
          "window, per direction (c→s: the client's own DEFLATE, the same " +
          "for every server; s→c: the server's). Frame headers not counted."
        : ""),
  );
  if (verdicts.length > 0) console.log(`\n${verdicts.join("\n")}`);

  finish(
    {
      bench: "echo_load",
      deno: Deno.version.deno,
      cpus: navigator.hardwareConcurrency,
      connections,
      inflight,
      binary,
      compression,
      payload,
      baseline,
      seconds,
      warmup,
      rounds,
      sizes,
      goal,
      results: summary,
    },
    problems,
    totalErrors,
  );
}

// Last, so that every module-level constant above is initialised.
if (values["as-client"]) await runClient();
else await runController();
