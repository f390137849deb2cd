// Generated and mutated HTTP/1.1 request heads, parsed whole and fed in
// pieces, then put through the upgrade checks the engine listener applies.
// The parser must return a parse or a HeadError (never throw), give the same
// outcome however the bytes were split, and nothing that ends in a WebSocket
// upgrade may fail the strict RFC 9112 / RFC 6455 checker below. Set
// FUZZ_SEED to replay one failing head; FUZZ_ITERATIONS to run more or fewer.

import assert from "node:assert/strict";
import { checkHandshake } from "../../lib/protocol/handshake.ts";
import {
  type HeadLimits,
  type HeadParse,
  parseRequestHead,
  type RequestHead,
} from "../../lib/protocol/request_head.ts";
import {
  requestOfHead,
  upgradeHeadProblem,
} from "../../lib/server/engine_listener.ts";
import { isWebSocketUpgrade } from "../../lib/server/head_reader.ts";
import { Random } from "../helpers/random.ts";

const ITERATIONS = Number(Deno.env.get("FUZZ_ITERATIONS") ?? 1_000_000);
// Well above what the full run takes here (about 25 s on two shared cores),
// and than one head takes (microseconds; a GC pause is tens of ms): only a
// parser that went quadratic or looped would exceed them.
const TIME_BUDGET_MS = 60_000 * Math.max(1, ITERATIONS / 1_000_000);
const HEAD_BUDGET_MS = 250;
const LIMITS: HeadLimits = { maxHeadSize: 1024, maxFields: 16 };

// ---- Generation -----------------------------------------------------------

const TARGETS = ["/", "/ws", "/chat?room=1&x=%41", "/a/b;c=d", "/~x@:!$'()*+,"];
const ODD_TARGETS = [
  "*",
  "example.com:80",
  "http://example.com/ws",
  "ws://example.com:8080/ws?x=1",
  "HTTPS://a/",
  "a:b",
  "/ws#fragment",
  "#",
  "/a|b^c{d}",
  "//x",
  "/%zz",
  "",
  "ws",
  "/a\\b",
];
const HOSTS = ["example.com", "example.com:8080", "127.0.0.1:1", "[::1]:80"];
const ODD_HOSTS = [
  "",
  "a/b",
  "a b",
  "a@b",
  "a?b",
  "a#b",
  "a:b",
  "a:80:90",
  "[::1",
  "::1",
  "a\\b",
  "a,b",
  "a%zz",
  "exa_mple.com:443",
  "\u00e9.example",
  "a\tb",
];
const METHODS = ["GET", "get", "Get", "POST", "CONNECT", "OPTIONS", "G(T", ""];
const VERSIONS = [
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/1.2",
  "HTTP/2.0",
  "HTTP/2",
  "HTTP/3",
  "http/1.1",
  "HTTP/1.1 ",
  "HTTP/01.1",
  "HTTP/1.10",
  "HTTP/11",
  "",
];
const UPGRADES = ["websocket", "WebSocket", "h2c, websocket", "websocket/13"];
const CONNECTIONS = ["Upgrade", "upgrade", "keep-alive, Upgrade", "close"];
const FIELD_NAMES = [
  "Host",
  "Upgrade",
  "Connection",
  "Sec-WebSocket-Key",
  "Sec-WebSocket-Version",
  "Content-Length",
  "Transfer-Encoding",
  "Origin",
];
const ODD_VALUES = [
  "",
  "0",
  "5",
  "-1",
  "1, 1",
  "chunked",
  "13",
  "8",
  "13, 13",
  " 13 ",
  "dGhlIHNhbXBsZSBub25jZQ==",
  "dGhlIHNhbXBsZSBub25jZR==",
  "short",
  "websocket",
  "upgrade",
  "\u00ff\u0080",
];
const INTERESTING_BYTES = [0, 9, 10, 13, 32, 58, 44, 127, 0x80, 0xff, 47, 35];

type Line = [name: string, value: string];

interface Head {
  leading: string;
  method: string;
  target: string;
  version: string;
  fields: Line[];
  // The raw field lines, when a mutation needs bytes no name/value pair has.
  raw: string[];
  eol: string[];
  tail: string;
}

function randomKey(random: Random): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = random.int(0, 255);
  return btoa(String.fromCharCode(...bytes));
}

function randomCase(random: Random, text: string): string {
  if (!random.chance(0.3)) return text;
  let out = "";
  for (const c of text) {
    out += random.chance(0.5) ? c.toUpperCase() : c.toLowerCase();
  }
  return out;
}

function ows(random: Random): string {
  return random.pick(["", "", " ", "  ", "\t", " \t"]);
}

function validHead(random: Random): Head {
  const fields: Line[] = [
    ["Host", random.pick(HOSTS)],
    ["Upgrade", random.pick(UPGRADES.slice(0, 3))],
    ["Connection", random.pick(CONNECTIONS.slice(0, 3))],
    ["Sec-WebSocket-Key", randomKey(random)],
    ["Sec-WebSocket-Version", "13"],
  ];
  if (random.chance(0.5)) fields.push(["Origin", "https://example.com"]);
  if (random.chance(0.3)) fields.push(["Sec-WebSocket-Protocol", "chat, v2"]);
  if (random.chance(0.2)) fields.push(["X-Latin1", "caf\u00e9"]);
  if (random.chance(0.1)) fields.push(["Content-Length", "0"]);
  for (let i = fields.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  return {
    leading: random.chance(0.05) ? "\r\n".repeat(random.int(1, 3)) : "",
    method: "GET",
    target: random.pick(TARGETS),
    version: "HTTP/1.1",
    fields: fields.map(([n, v]) => [randomCase(random, n), v]),
    raw: [],
    eol: [],
    tail: "",
  };
}

function pipelined(random: Random): string {
  return random.pick([
    "",
    "GET /second HTTP/1.1\r\nHost: b\r\n\r\n",
    "\x81\x85\x01\x02\x03\x04Hello",
    "\r\n\r\n",
    "x".repeat(random.int(1, 300)),
  ]);
}

/** One structural change a strict server must notice (or may not care about). */
function mutateStructure(random: Random, head: Head): void {
  const { fields } = head;
  const at = () => random.int(0, fields.length);
  switch (random.int(0, 17)) {
    case 0: { // Duplicate a field, same or other value.
      const name = random.pick(FIELD_NAMES);
      const existing = fields.find(([n]) =>
        n.toLowerCase() === name.toLowerCase()
      );
      const value = existing !== undefined && random.chance(0.5)
        ? existing[1]
        : random.pick(ODD_VALUES);
      fields.splice(at(), 0, [name, value]);
      break;
    }
    case 1: // Content-Length and Transfer-Encoding together.
      fields.splice(at(), 0, ["Content-Length", random.pick(["0", "5"])]);
      fields.splice(at(), 0, ["Transfer-Encoding", "chunked"]);
      break;
    case 2: // obs-fold.
      head.raw.push(random.pick([" folded", "\tfolded", " ", "\t"]));
      break;
    case 3: // A bare LF or CR ends some line.
      head.eol.push(random.pick(["\n", "\r", "\r\r\n", "\n\r", "\r \n"]));
      break;
    case 4: { // A control byte in a name or a value.
      const control = String.fromCharCode(
        random.pick([0, 1, 8, 9, 11, 12, 27, 31, 127]),
      );
      const field = fields[random.int(0, fields.length - 1)];
      if (field === undefined) break;
      const inName = random.chance(0.5);
      const text = inName ? field[0] : field[1];
      const cut = random.int(0, text.length);
      const changed = text.slice(0, cut) + control + text.slice(cut);
      if (inName) field[0] = changed;
      else field[1] = changed;
      break;
    }
    case 5: { // Whitespace before (or instead of) the colon.
      const field = fields[random.int(0, fields.length - 1)];
      if (field !== undefined) field[0] += random.pick([" ", "\t", " :x"]);
      break;
    }
    case 6: // A field goes missing.
      fields.splice(random.int(0, fields.length - 1), 1);
      break;
    case 7:
      head.method = random.pick(METHODS);
      break;
    case 8:
      head.version = random.pick(VERSIONS);
      break;
    case 9:
      head.target = random.pick(ODD_TARGETS);
      break;
    case 10: { // Huge value.
      const field = fields[random.int(0, fields.length - 1)];
      if (field !== undefined) field[1] += "v".repeat(random.int(100, 3000));
      break;
    }
    case 11: { // Many fields.
      const count = random.int(5, 40);
      for (let i = 0; i < count; i++) fields.push([`X-F${i}`, "1"]);
      break;
    }
    case 12: {
      const host = fields.find(([n]) => n.toLowerCase() === "host");
      if (host !== undefined) host[1] = random.pick(ODD_HOSTS);
      break;
    }
    case 13: { // A wrong or doubled key, version, upgrade or connection.
      const name = random.pick(FIELD_NAMES.slice(1, 5));
      const field = fields.find(([n]) =>
        n.toLowerCase() === name.toLowerCase()
      );
      if (field !== undefined) field[1] = random.pick(ODD_VALUES);
      break;
    }
    case 14: // A field line without a colon, or an empty name.
      head.raw.push(random.pick(["NoColon", ": empty name", ":", "X-Y z: 1"]));
      break;
    case 15: // Odd spacing in the request line.
      head.method += random.pick(["", " ", "\t"]);
      head.target = random.pick([" ", "\t", ""]) + head.target +
        random.pick(["", " ", " x"]);
      break;
    case 16: // A non-token name.
      fields.splice(at(), 0, [
        random.pick(["X(Y)", "X/Y", "X@Y", "\u00e9", 'X"Y', "X{Y}"]),
        "1",
      ]);
      break;
    default: // Upgrade or Connection with another token.
      fields.splice(at(), 0, [
        random.pick(["Upgrade", "Connection"]),
        random.pick([...UPGRADES, ...CONNECTIONS]),
      ]);
  }
}

function serialize(random: Random, head: Head): Uint8Array {
  const lines: string[] = [`${head.method} ${head.target} ${head.version}`];
  for (const [name, value] of head.fields) {
    lines.push(`${name}:${ows(random)}${value}${ows(random)}`);
  }
  for (const raw of head.raw) {
    lines.splice(random.int(1, lines.length), 0, raw);
  }
  let text = head.leading;
  for (let i = 0; i < lines.length; i++) {
    text += lines[i];
    text += head.eol.length > 0 && random.chance(0.3) ? head.eol.pop() : "\r\n";
  }
  text += (head.eol.pop() ?? "\r\n") + head.tail;
  return latin1Bytes(text);
}

/** Byte flips, insertions, deletions and truncations. */
function mutateBytes(random: Random, bytes: Uint8Array): Uint8Array {
  let out = Array.from(bytes);
  const count = random.int(1, 4);
  for (let m = 0; m < count; m++) {
    const at = random.int(0, out.length);
    const byte = random.chance(0.6)
      ? random.pick(INTERESTING_BYTES)
      : random.int(0, 255);
    switch (random.int(0, 3)) {
      case 0:
        if (at < out.length) out[at] = out[at]! ^ (1 << random.int(0, 7));
        break;
      case 1:
        out.splice(at, 0, byte);
        break;
      case 2:
        out.splice(at, random.int(1, 4));
        break;
      default:
        out = out.slice(0, at);
    }
  }
  return new Uint8Array(out);
}

function generate(random: Random): { bytes: Uint8Array; pristine: boolean } {
  const roll = random.next();
  if (roll < 0.02) {
    const length = random.int(0, 300);
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = random.int(0, 255);
    return { bytes, pristine: false };
  }
  const head = validHead(random);
  head.tail = pipelined(random);
  if (roll < 0.12) return { bytes: serialize(random, head), pristine: true };
  const structural = roll < 0.7 || random.chance(0.5);
  if (structural) {
    const count = random.int(1, 3);
    for (let i = 0; i < count; i++) mutateStructure(random, head);
  }
  const bytes = serialize(random, head);
  return {
    bytes: !structural || random.chance(0.3)
      ? mutateBytes(random, bytes)
      : bytes,
    pristine: false,
  };
}

function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

// ---- What the listener does with a parse -----------------------------------

// What lib/server/engine_listener.ts does with a head its reader parsed:
// an upgrade (isWebSocketUpgrade) without a head problem, made a Request
// (requestOfHead), HTTP/1.1 or higher, passing checkHandshake.
function upgrades(head: RequestHead): boolean {
  if (!isWebSocketUpgrade(head)) return false;
  if (upgradeHeadProblem(head) !== undefined) return false;
  const request = requestOfHead(head, "ws");
  if (request === undefined) return false;
  if (head.minorVersion < 1) return false;
  return checkHandshake({ method: request.method, headers: request.headers })
    .ok;
}

// ---- The strict checker ---------------------------------------------------

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// field-value: VCHAR, obs-text, SP and HTAB inside; no other control byte.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// Origin form, or absolute form; visible ASCII, never a fragment.
const ORIGIN_FORM = /^\/[\x21\x22\x24-\x7e]*$/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21\x22\x24-\x7e]*$/;
// RFC 9110 7.2: uri-host [ ":" port ].
const HOST =
  /^(\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(:[0-9]*)?$/;
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

interface Accepted {
  readonly length: number;
  readonly target: string;
  readonly key: string;
}

/** The head at the start of `text` if it is a valid upgrade, else why not. */
function strictUpgrade(text: string, limits: HeadLimits): Accepted | string {
  let start = 0;
  while (text.startsWith("\r\n", start)) start += 2;
  const end = text.indexOf("\r\n\r\n", start);
  if (end === -1) return "no end";
  const length = end + 4;
  if (length > limits.maxHeadSize) return "too large";
  const lines = text.slice(start, end).split("\r\n");
  if (lines.some((line) => /[\r\n]/.test(line))) return "bare CR or LF";
  // Methods are case-sensitive (RFC 9110 9.1).
  const request = /^GET ([^ ]+) HTTP\/1\.1$/.exec(lines[0]!);
  if (request === null) return "request line";
  const target = request[1]!;
  if (!ORIGIN_FORM.test(target) && !ABSOLUTE_FORM.test(target)) return "target";
  const fields = new Map<string, string[]>();
  const fieldLines = lines.slice(1);
  if (fieldLines.length > limits.maxFields) return "too many fields";
  for (const line of fieldLines) {
    if (line.startsWith(" ") || line.startsWith("\t")) return "obs-fold";
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    if (colon < 0 || !TOKEN.test(name)) return "field name";
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) return "field value";
    const lower = name.toLowerCase();
    fields.set(lower, [...(fields.get(lower) ?? []), value]);
  }
  const one = (name: string) => {
    const values = fields.get(name) ?? [];
    return values.length === 1 ? values[0]! : undefined;
  };
  const list = (name: string) =>
    (fields.get(name) ?? []).join(",").split(",").map((item) =>
      item.trim().toLowerCase()
    );
  const host = one("host");
  if (host === undefined || !HOST.test(host)) return "host";
  const lengths = fields.get("content-length");
  if (lengths !== undefined) {
    if (lengths.some((value) => !/^[0-9]+$/.test(value))) return "length";
    if (new Set(lengths).size > 1) return "lengths differ";
    if (fields.has("transfer-encoding")) return "length and encoding";
  }
  // A body's bytes would be taken for frames.
  if (fields.has("transfer-encoding")) return "body";
  if (lengths !== undefined && lengths[0] !== "0") return "body";
  if (!list("upgrade").includes("websocket")) return "upgrade";
  if (!list("connection").includes("upgrade")) return "connection";
  const key = one("sec-websocket-key");
  if (key === undefined || !KEY.test(key)) return "key";
  if (one("sec-websocket-version") !== "13") return "version";
  return { length, target, key };
}

// ---- Splits ---------------------------------------------------------------

/** Feeds `bytes` in the given chunk sizes as the head reader does. */
function feed(bytes: Uint8Array, cuts: readonly number[]): HeadParse {
  let scanned = 0;
  let parsed: HeadParse = { kind: "more", scanned: 0 };
  for (const cut of [...cuts, bytes.length]) {
    parsed = parseRequestHead(bytes.subarray(0, cut), LIMITS, scanned);
    if (parsed.kind !== "more") return parsed;
    scanned = parsed.scanned;
  }
  return parsed;
}

function outcome(parsed: HeadParse): string {
  switch (parsed.kind) {
    case "more":
      return "more";
    case "error":
      return `error ${parsed.error.status}`;
    default:
      return JSON.stringify([
        parsed.head.method,
        parsed.head.target,
        parsed.head.minorVersion,
        parsed.head.fields,
        parsed.head.length,
      ]);
  }
}

function checkSplits(random: Random, bytes: Uint8Array, whole: string): void {
  const length = Math.min(bytes.length, LIMITS.maxHeadSize + 8);
  if (random.chance(0.005)) {
    for (let cut = 0; cut <= length; cut++) {
      assert.equal(outcome(feed(bytes, [cut])), whole, `split at ${cut}`);
    }
  }
  const cuts: number[] = [];
  for (let at = random.int(0, 40); at < length; at += random.int(1, 40)) {
    cuts.push(at);
  }
  assert.equal(outcome(feed(bytes, cuts)), whole, `split at ${cuts}`);
}

// ---- The run --------------------------------------------------------------

function runOne(seed: number, counts: Record<string, number>): void {
  const random = new Random(seed);
  const { bytes, pristine } = generate(random);
  const parsed = parseRequestHead(bytes, LIMITS);
  assert.ok(["head", "more", "error"].includes(parsed.kind));
  if (parsed.kind === "error") {
    assert.ok([400, 431, 505].includes(parsed.error.status));
    assert.equal(typeof parsed.error.message, "string");
  }
  const whole = outcome(parsed);
  if (random.chance(0.05)) checkSplits(random, bytes, whole);
  const accepted = parsed.kind === "head" && upgrades(parsed.head);
  counts[accepted ? "upgraded" : parsed.kind]!++;
  if (pristine) assert.ok(accepted, "a valid upgrade head was not accepted");
  if (!accepted) return;
  const text = String.fromCharCode(...bytes);
  const strict = strictUpgrade(text, LIMITS);
  assert.ok(
    typeof strict !== "string",
    `upgraded a head the RFCs reject (${strict}): ${
      JSON.stringify(text.slice(0, 400)).replace(/[^\x20-\x7e]/g, (c) =>
        `\\x${c.charCodeAt(0).toString(16)}`)
    }`,
  );
  assert.equal(parsed.head.length, strict.length);
  assert.equal(parsed.head.target, strict.target);
}

Deno.test("request head: generated and mutated heads never throw, split the same, upgrade only if valid", () => {
  const baseSeed = Number(Deno.env.get("FUZZ_SEED") ?? 0x4ead17);
  const replay = Deno.env.has("FUZZ_SEED");
  const iterations = replay ? 1 : ITERATIONS;
  const counts: Record<string, number> = {
    upgraded: 0,
    head: 0,
    more: 0,
    error: 0,
  };
  const started = performance.now();
  let slowest = { ms: 0, seed: baseSeed };
  for (let iteration = 0; iteration < iterations; iteration++) {
    const seed = (baseSeed + iteration) >>> 0;
    const headStarted = performance.now();
    try {
      runOne(seed, counts);
      const ms = performance.now() - headStarted;
      if (ms > slowest.ms) slowest = { ms, seed };
    } catch (error) {
      throw new Error(`Fuzz failure: replay with FUZZ_SEED=${seed}`, {
        cause: error,
      });
    }
  }
  const elapsed = performance.now() - started;
  assert.ok(
    slowest.ms < HEAD_BUDGET_MS,
    `FUZZ_SEED=${slowest.seed} took ${slowest.ms.toFixed(1)} ms`,
  );
  assert.ok(
    elapsed < TIME_BUDGET_MS,
    `${iterations} heads took ${elapsed.toFixed(0)} ms`,
  );
  if (!replay) {
    // Every kind of outcome was reached in numbers.
    for (const [kind, count] of Object.entries(counts)) {
      assert.ok(count > iterations / 100, `${kind}: ${count}`);
    }
  }
});
