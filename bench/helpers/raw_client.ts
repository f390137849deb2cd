/**
 * What the benchmarks' own RFC 6455 clients (over `Deno.connect`, in
 * `echo_load.ts` and `idle_memory.ts`) share: the opening handshake,
 * masked client frames, and whole writes.
 *
 * @module
 */

const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Writes all of `bytes` to `conn`. */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/**
 * Runs the opening handshake for `url`, offering `extensions` when given:
 * `write` sends the request, `readHead` returns the response head. Returns
 * the head's lines; throws unless it is a 101 with the right
 * `Sec-WebSocket-Accept`.
 */
export async function handshake(
  url: URL,
  extensions: string | undefined,
  write: (bytes: Uint8Array) => Promise<void>,
  readHead: () => Promise<string>,
): Promise<string[]> {
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  await write(
    new TextEncoder().encode(
      `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (extensions === undefined
          ? ""
          : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
        "\r\n",
    ),
  );
  const lines = (await readHead()).split("\r\n");
  const accept = btoa(String.fromCharCode(
    ...new Uint8Array(
      await crypto.subtle.digest(
        "SHA-1",
        new TextEncoder().encode(key + WEBSOCKET_GUID),
      ),
    ),
  ));
  const ok = /^HTTP\/1\.1 101\b/.test(lines[0] ?? "") &&
    headerValue(lines, "sec-websocket-accept")?.trim() === accept;
  if (!ok) throw new Error(`handshake refused: ${lines[0]}`);
  return lines;
}

/** The value (untrimmed) of header `name`, lowercase, among a head's `lines`. */
export function headerValue(
  lines: readonly string[],
  name: string,
): string | undefined {
  const line = lines.find((line) => line.toLowerCase().startsWith(`${name}:`));
  return line?.slice(line.indexOf(":") + 1);
}

/**
 * A masked client frame, FIN set: with `mask` (4 bytes; random without
 * one), RSV1 set with `rsv1`.
 */
export function clientFrame(
  opcode: number,
  payload: Uint8Array,
  options: { mask?: ArrayLike<number>; rsv1?: boolean } = {},
): Uint8Array {
  const mask = options.mask ?? crypto.getRandomValues(new Uint8Array(4));
  const length = payload.byteLength;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + 4 + length);
  frame[0] = 0x80 | (options.rsv1 ? 0x40 : 0) | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    new DataView(frame.buffer).setUint16(2, length);
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(length));
  }
  frame.set(mask, header);
  for (let i = 0; i < length; i++) {
    frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
  }
  return frame;
}

/** The length of the whole server frame at the start of `bytes`, or -1. */
export function serverFrameLength(bytes: Uint8Array): number {
  if (bytes.byteLength < 2) return -1;
  let length = bytes[1]! & 0x7f;
  let header = 2;
  if (length === 126) {
    if (bytes.byteLength < 4) return -1;
    length = (bytes[2]! << 8) | bytes[3]!;
    header = 4;
  } else if (length === 127) {
    throw new Error("a server frame of 64 KiB or more");
  }
  return bytes.byteLength >= header + length ? header + length : -1;
}

/** Where a server frame's payload starts (server frames are unmasked). */
export function payloadOffset(frame: Uint8Array): number {
  return (frame[1]! & 0x7f) === 126 ? 4 : 2;
}

/** Where `\r\n\r\n` starts in `bytes`, or -1. */
export function findHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.byteLength; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) return i;
  }
  return -1;
}

/**
 * Reads a connection in whole units: a response head, a server frame (under
 * 4 KiB, as the benchmarks' replies are).
 */
export class UnitReader {
  readonly #conn: Deno.Conn;
  readonly #buffer = new Uint8Array(4096);
  #end = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads until `complete` returns the length of a whole unit, returns it. */
  async read(complete: (bytes: Uint8Array) => number): Promise<Uint8Array> {
    while (true) {
      const length = complete(this.#buffer.subarray(0, this.#end));
      if (length !== -1) {
        const unit = this.#buffer.slice(0, length);
        this.#buffer.copyWithin(0, length, this.#end);
        this.#end -= length;
        return unit;
      }
      if (this.#end === this.#buffer.length) throw new Error("reply too long");
      const n = await this.#conn.read(this.#buffer.subarray(this.#end));
      if (n === null) throw new Error("the server closed the connection");
      this.#end += n;
    }
  }

  /** The response head, through its blank line, as text. */
  async head(): Promise<string> {
    const head = await this.read((bytes) => {
      const at = findHeadEnd(bytes);
      return at === -1 ? -1 : at + 4;
    });
    return new TextDecoder().decode(head);
  }

  /** The next whole server frame. */
  frame(): Promise<Uint8Array> {
    return this.read(serverFrameLength);
  }
}
