/**
 * The wire form of a message between processes sharing a backplane: who
 * sent it (process and sequence number), who it is for, which socket to
 * leave out, and the payload, text or binary. Pure: bytes in, values out.
 * Decoding never throws; bytes that are not an envelope come back as a
 * reason, for the caller to count and drop.
 *
 * Layout (integers big-endian):
 * ```
 * 0      magic 0x53 ("S")
 * 1      version 1
 * 2      flags: bit 0 binary payload, bit 1 has an excluded socket,
 *        bit 2 presence (the payload is JSON {"m": members, "u": users,
 *        "a": ask}, for a room)
 * 3      target kind: 0 all, 1 room, 2 socket, 3 user
 * 4..11  sequence number (unsigned 64-bit, at most 2^53 - 1)
 * then   origin, target name (not for "all"), excluded socket id (if
 *        flagged): each a 16-bit byte length and UTF-8
 * rest   payload
 * ```
 *
 * @module
 */

import {
  MAX_NAME_LENGTH,
  nameProblem,
  type Target,
  type TargetKind,
} from "./target.ts";

/** A message as it travels between processes. */
export interface Envelope {
  /** The id of the backplane (the process) that published it. */
  readonly origin: string;
  /** The publisher's sequence number: 1, 2, 3… for each message it sends. */
  readonly seq: number;
  /** Who the message is for. */
  readonly target: Target;
  /** The id of a socket left out, usually the sender. */
  readonly except?: string;
  /** The payload: a string is sent as a text message, bytes as binary. */
  readonly data: string | Uint8Array;
  /** Set on presence announcements (their `data` is empty): no socket receives them. */
  readonly presence?: Presence;
}

/** The members of a room held by one process, as it announces them. */
export interface Presence {
  /** How many sockets of the room the process holds. */
  readonly members: number;
  /** Their distinct users (at most {@linkcode MAX_PRESENCE_USERS}). */
  readonly users: readonly string[];
  /** Set by a process that just joined the room: the others answer with theirs. */
  readonly ask: boolean;
}

/** The most users one presence announcement lists. */
export const MAX_PRESENCE_USERS = 1000;

/** The outcome of {@linkcode decodeEnvelope}. */
export type DecodeResult =
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly reason: string };

const MAGIC = 0x53;
const VERSION = 1;
const FLAG_BINARY = 1;
const FLAG_EXCEPT = 2;
const FLAG_PRESENCE = 4;
const HEADER = 12;
const KINDS: readonly TargetKind[] = ["all", "room", "socket", "user"];
const KIND_CODE: Readonly<Record<TargetKind, number>> = {
  all: 0,
  room: 1,
  socket: 2,
  user: 3,
};
// A name of MAX_NAME_LENGTH UTF-16 units takes at most 3 bytes per unit.
const MAX_NAME_BYTES = MAX_NAME_LENGTH * 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Encodes an envelope. Names are not checked here: callers check targets
 * once, when a message is published.
 *
 * @example
 * ```ts
 * import { decodeEnvelope, encodeEnvelope } from "@socketry/socketry";
 *
 * const bytes = encodeEnvelope({
 *   origin: "p1",
 *   seq: 1,
 *   target: { kind: "room", name: "lobby" },
 *   data: "hello",
 * });
 * const result = decodeEnvelope(bytes);
 * console.log(result.ok && result.envelope.data); // "hello"
 * ```
 */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const origin = encoder.encode(envelope.origin);
  const name = envelope.target.kind === "all"
    ? undefined
    : encoder.encode(envelope.target.name);
  const presence = envelope.presence;
  // Presence leaves out nobody: it reaches processes, not sockets.
  const except = envelope.except === undefined || presence !== undefined
    ? undefined
    : encoder.encode(envelope.except);
  const payload = presence !== undefined
    ? encoder.encode(JSON.stringify({
      m: presence.members,
      u: presence.users.slice(0, MAX_PRESENCE_USERS),
      a: presence.ask,
    }))
    : typeof envelope.data === "string"
    ? encoder.encode(envelope.data)
    : envelope.data;
  const size = HEADER + 2 + origin.length +
    (name === undefined ? 0 : 2 + name.length) +
    (except === undefined ? 0 : 2 + except.length) + payload.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = presence !== undefined
    ? FLAG_PRESENCE
    : (typeof envelope.data === "string" ? 0 : FLAG_BINARY) |
      (except === undefined ? 0 : FLAG_EXCEPT);
  out[3] = KIND_CODE[envelope.target.kind];
  view.setUint32(4, Math.floor(envelope.seq / 2 ** 32));
  view.setUint32(8, envelope.seq >>> 0);
  let at = HEADER;
  for (const part of [origin, name, except]) {
    if (part === undefined) continue;
    view.setUint16(at, part.length);
    out.set(part, at + 2);
    at += 2 + part.length;
  }
  out.set(payload, at);
  return out;
}

/**
 * Decodes an envelope, checking every field: magic and version, the
 * sequence number, well-formed UTF-8, names within bounds. Never throws.
 * Binary payloads are copied out of `bytes`.
 *
 * @example
 * ```ts
 * import { decodeEnvelope } from "@socketry/socketry";
 *
 * const result = decodeEnvelope(new TextEncoder().encode("garbage"));
 * console.log(result.ok ? "decoded" : result.reason); // "not an envelope (bad magic)"
 * ```
 */
export function decodeEnvelope(bytes: Uint8Array): DecodeResult {
  if (!(bytes instanceof Uint8Array)) return fail("not bytes");
  if (bytes.length < HEADER + 2) return fail("shorter than a header");
  if (bytes[0] !== MAGIC) return fail("not an envelope (bad magic)");
  if (bytes[1] !== VERSION) return fail(`unknown version ${bytes[1]}`);
  const flags = bytes[2]!;
  if ((flags & ~(FLAG_BINARY | FLAG_EXCEPT | FLAG_PRESENCE)) !== 0) {
    return fail("unknown flags");
  }
  if (flags & FLAG_PRESENCE && (flags !== FLAG_PRESENCE || bytes[3] !== 1)) {
    return fail("presence that is not plain and for a room");
  }
  const kind = KINDS[bytes[3]!];
  if (kind === undefined) return fail(`unknown target kind ${bytes[3]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(4);
  if (high >= 2 ** 21) return fail("sequence number out of range");
  const seq = high * 2 ** 32 + view.getUint32(8);
  if (seq === 0) return fail("sequence number 0");
  let at = HEADER;
  const field = (what: string): string | { reason: string } => {
    if (at + 2 > bytes.length) return { reason: `${what} cut short` };
    const length = view.getUint16(at);
    if (length > MAX_NAME_BYTES) return { reason: `${what} too long` };
    if (at + 2 + length > bytes.length) return { reason: `${what} cut short` };
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(at + 2, at + 2 + length));
    } catch {
      return { reason: `${what} is not UTF-8` };
    }
    const problem = nameProblem(text);
    if (problem !== undefined) return { reason: `${what} ${problem}` };
    at += 2 + length;
    return text;
  };
  const origin = field("origin");
  if (typeof origin !== "string") return fail(origin.reason);
  let target: Target;
  if (kind === "all") {
    target = { kind };
  } else {
    const name = field(`${kind} name`);
    if (typeof name !== "string") return fail(name.reason);
    target = { kind, name };
  }
  let except: string | undefined;
  if ((flags & FLAG_EXCEPT) !== 0) {
    const id = field("excluded socket id");
    if (typeof id !== "string") return fail(id.reason);
    except = id;
  }
  let data: string | Uint8Array;
  if ((flags & FLAG_PRESENCE) !== 0) {
    const presence = decodePresence(bytes.subarray(at));
    if (typeof presence === "string") return fail(presence);
    return { ok: true, envelope: { origin, seq, target, data: "", presence } };
  }
  if ((flags & FLAG_BINARY) !== 0) {
    // A copy, and a plain Uint8Array even when a Node Buffer came in.
    data = new Uint8Array(bytes.subarray(at));
  } else {
    try {
      data = decoder.decode(bytes.subarray(at));
    } catch {
      return fail("text payload is not UTF-8");
    }
  }
  const envelope: Envelope = except === undefined
    ? { origin, seq, target, data }
    : { origin, seq, target, except, data };
  return { ok: true, envelope };
}

function decodePresence(bytes: Uint8Array): Presence | string {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return "presence is not JSON";
  }
  const { m, u, a } = (value ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(m) || (m as number) < 0) {
    return "presence without a member count";
  }
  if (
    !Array.isArray(u) || u.length > MAX_PRESENCE_USERS ||
    !u.every((user) => typeof user === "string" && !nameProblem(user))
  ) {
    return "presence with a bad user list";
  }
  if (typeof a !== "boolean") return "presence without its ask flag";
  return { members: m as number, users: u as string[], ask: a };
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}
