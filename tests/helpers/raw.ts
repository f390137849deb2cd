/** A raw TCP WebSocket client for tests that need to misbehave on purpose. */

import { FrameParser, type ParserEvent } from "../../lib/protocol/parser.ts";

const encoder = new TextEncoder();

/** Builds a client frame, masked with a fixed key. */
export function maskedFrame(
  opcode: number,
  payload: Uint8Array | string,
  fin = true,
): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const key = [0x11, 0x22, 0x33, 0x44];
  const lengthBytes = data.length < 126 ? 0 : data.length < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + lengthBytes + 4 + data.length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  const view = new DataView(frame.buffer);
  if (lengthBytes === 0) frame[1] = 0x80 | data.length;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    view.setUint16(2, data.length);
  } else {
    frame[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(data.length));
  }
  const start = 2 + lengthBytes;
  frame.set(key, start);
  for (let i = 0; i < data.length; i++) {
    frame[start + 4 + i] = data[i]! ^ key[i % 4]!;
  }
  return frame;
}

/** Sends an HTTP request and returns the status line, headers and body. */
export async function rawHttp(
  port: number,
  request: string,
): Promise<{ status: number; headers: Headers; body: string; raw: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(request));
    let raw = "";
    const buffer = new Uint8Array(16384);
    const decoder = new TextDecoder();
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      raw += decoder.decode(buffer.subarray(0, n), { stream: true });
      const end = raw.indexOf("\r\n\r\n");
      if (end >= 0) {
        const length = /content-length: (\d+)/i.exec(raw.slice(0, end));
        if (length === null || raw.length >= end + 4 + Number(length[1])) break;
      }
    }
    const [head = "", body = ""] = raw.split("\r\n\r\n");
    const [statusLine = "", ...lines] = head.split("\r\n");
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return { status: Number(statusLine.split(" ")[1]), headers, body, raw };
  } finally {
    conn.close();
  }
}

/** A valid handshake request for `path`, with extra header lines. */
export function handshakeRequest(path = "/ws", extra: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...extra,
    "",
    "",
  ].join("\r\n");
}

/** Opens a raw connection, completes the handshake and returns the connection. */
export async function rawWebSocket(
  port: number,
  path = "/ws",
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(handshakeRequest(path)));
  const buffer = new Uint8Array(4096);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("connection closed during the handshake");
    head += new TextDecoder().decode(buffer.subarray(0, n));
  }
  if (!head.startsWith("HTTP/1.1 101")) {
    conn.close();
    throw new Error(`handshake refused: ${head.split("\r\n")[0]}`);
  }
  return conn;
}

/** Reads server frames from a raw connection, with a timeout per wait. */
export class FrameReader {
  readonly #conn: Deno.Conn;
  readonly #parser: FrameParser;
  readonly #events: ParserEvent[] = [];
  #eof = false;

  /** `allowRsv1` for a connection that agreed on permessage-deflate. */
  constructor(conn: Deno.Conn, options: { allowRsv1?: boolean } = {}) {
    this.#conn = conn;
    this.#parser = new FrameParser({ role: "client", ...options });
  }

  /** Whether the server closed the connection. */
  get eof(): boolean {
    return this.#eof;
  }

  /** The next frame event, waiting up to `ms`; `undefined` at EOF. */
  async next(ms = 5000): Promise<ParserEvent | undefined> {
    const deadline = Date.now() + ms;
    const buffer = new Uint8Array(65536);
    while (this.#events.length === 0 && !this.#eof) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#conn.read(buffer),
        new Promise<"timeout">((resolve) =>
          timer = setTimeout(() => resolve("timeout"), left)
        ),
      ]);
      clearTimeout(timer);
      if (n === "timeout") throw new Error(`no frame within ${ms} ms`);
      if (n === null) this.#eof = true;
      else {this.#parser.push(buffer.slice(0, n), (event) =>
          this.#events.push(event));}
    }
    return this.#events.shift();
  }
}
