// Hot paths of socketry that need no network: UTF-8 sizes of text messages,
// handshake checks, and the per-message work of the Socket contract (message
// events and async iteration) on an in-memory backend, so that the cost
// `bench/echo_load.ts` sees per round trip can be taken apart.
// Run with `deno bench --allow-all bench/socket_bench.ts`.

import { checkHandshake } from "../lib/protocol/handshake.ts";
import { isWebSocketRequest } from "../lib/server/detect.ts";
import {
  type MessageType,
  resolveSocketOptions,
  Socket,
} from "../lib/socket/mod.ts";
import { utf8ByteLength } from "../lib/utf8_length.ts";

const KIB = 1024;

function asciiText(length: number): string {
  let text = "";
  for (let i = 0; text.length < length; i++) {
    text += String.fromCharCode(0x20 + ((i * 31 + 7) % 95));
  }
  return text.slice(0, length);
}

// 16 KiB of UTF-8 (not 16 Ki characters): ASCII with 2-, 3- and 4-byte
// characters throughout, the worst case for the scanning loop.
function mixedText(bytes: number): string {
  const pieces = ["Hello ", "κόσμε", ", 世界! ", "🎉", " naïve café. "];
  let text = "";
  let size = 0;
  for (let i = 0;; i++) {
    const piece = pieces[i % pieces.length]!;
    const pieceSize = new TextEncoder().encode(piece).byteLength;
    if (size + pieceSize > bytes) break;
    text += piece;
    size += pieceSize;
  }
  return text + "x".repeat(bytes - size);
}

const ASCII_64 = asciiText(64);
const ASCII_16K = asciiText(16 * KIB);
const MIXED_16K = mixedText(16 * KIB);
if (utf8ByteLength(MIXED_16K) !== 16 * KIB) {
  throw new Error("the mixed text must be 16 KiB of UTF-8");
}

const scratch = new Uint8Array(64 * KIB);
const encoder = new TextEncoder();

for (
  const [name, text] of [
    ["64 B ASCII", ASCII_64],
    ["16 KiB ASCII", ASCII_16K],
    ["16 KiB mixed", MIXED_16K],
  ] as const
) {
  const expected = encoder.encode(text).byteLength;
  Deno.bench({
    name: `utf8ByteLength ${name}`,
    group: `utf8ByteLength ${name}`,
    baseline: true,
    fn() {
      if (utf8ByteLength(text) !== expected) throw new Error("wrong length");
    },
  });
  // The native encoder as a yardstick: what a size via encodeInto costs.
  Deno.bench({
    name: `TextEncoder.encodeInto ${name} (reference)`,
    group: `utf8ByteLength ${name}`,
    fn() {
      if (encoder.encodeInto(text, scratch).written !== expected) {
        throw new Error("wrong length");
      }
    },
  });
}

// A handshake as Chrome sends it.
const BROWSER_HEADERS = {
  host: "localhost:8080",
  connection: "Upgrade",
  pragma: "no-cache",
  "cache-control": "no-cache",
  "user-agent":
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  upgrade: "websocket",
  origin: "http://localhost:8080",
  "sec-websocket-version": "13",
  "accept-encoding": "gzip, deflate, br, zstd",
  "accept-language": "en-US,en;q=0.9",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
  "sec-websocket-protocol": "chat.v2, chat.v1",
};
const upgradeRequest = new Request("http://localhost:8080/ws", {
  headers: BROWSER_HEADERS,
});
const handshake = { method: "GET", headers: new Headers(BROWSER_HEADERS) };
const plainRequest = new Request("http://localhost:8080/", {
  headers: { host: "localhost:8080", accept: "text/html" },
});

Deno.bench({
  name: "checkHandshake typical browser request (Headers)",
  group: "handshake",
  baseline: true,
  fn() {
    if (!checkHandshake(handshake).ok) throw new Error("refused");
  },
});
Deno.bench({
  name: "checkHandshake typical browser request (Request)",
  group: "handshake",
  fn() {
    if (!checkHandshake(upgradeRequest).ok) throw new Error("refused");
  },
});
Deno.bench({
  name: "isWebSocketRequest typical browser request",
  group: "handshake",
  fn() {
    if (!isWebSocketRequest(upgradeRequest)) throw new Error("refused");
  },
});
Deno.bench({
  name: "isWebSocketRequest plain GET",
  group: "handshake",
  fn() {
    if (isWebSocketRequest(plainRequest)) throw new Error("accepted");
  },
});

/**
 * An in-memory backend: what the application sends is handed to `onTransmit`
 * at once, and the bench feeds incoming messages with `deliver()`, as the
 * native backend does from Deno's `message` events.
 */
class MemorySocket extends Socket {
  onTransmit: (data: string | Uint8Array) => void = () => {};

  constructor() {
    super(resolveSocketOptions());
    this.handleOpen();
  }

  get protocol(): string {
    return "";
  }

  get extensions(): string {
    return "";
  }

  deliver(type: MessageType, payload: string | Uint8Array): void {
    this.handleData(type, payload, true);
  }

  protected transmit(data: string | Uint8Array): void {
    this.onTransmit(data);
  }

  protected transmitClose(): void {}

  protected terminate(): void {}

  protected transportBufferedAmount(): number {
    return 0;
  }

  protected waitForDrain(): Promise<void> {
    return Promise.resolve();
  }
}

for (
  const [name, text] of [
    ["64 B", ASCII_64],
    ["16 KiB", ASCII_16K],
  ] as const
) {
  // What examples/echo/main.ts does per message.
  const events = new MemorySocket();
  let echoed: string | Uint8Array = "";
  events.onTransmit = (data) => echoed = data;
  events.addEventListener("message", ({ data }) => {
    events.send(data).catch(() => {});
  });
  Deno.bench({
    name: `echo via message events ${name} text`,
    group: `echo ${name}`,
    baseline: true,
    fn() {
      events.deliver("text", text);
      if (echoed !== text) throw new Error("no echo");
      echoed = "";
    },
  });

  // What bench/servers/socketry_iter_echo.ts does per message.
  const iterated = new MemorySocket();
  let waiting: PromiseWithResolvers<void> | undefined;
  iterated.onTransmit = (data) => {
    if (data !== text) throw new Error("wrong echo");
    waiting?.resolve();
  };
  (async () => {
    for await (const message of iterated) await iterated.send(message);
  })();
  Deno.bench({
    name: `echo via for await ${name} text`,
    group: `echo ${name}`,
    async fn() {
      waiting = Promise.withResolvers();
      iterated.deliver("text", text);
      await waiting.promise;
    },
  });

  // The floor: a bare EventTarget dispatch with the same listener shape.
  const target = new EventTarget();
  let last: unknown;
  target.addEventListener("message", (event) => {
    last = (event as MessageEvent).data;
  });
  Deno.bench({
    name: `bare MessageEvent dispatch ${name} (reference)`,
    group: `echo ${name}`,
    fn() {
      target.dispatchEvent(new MessageEvent("message", { data: text }));
      if (last !== text) throw new Error("no dispatch");
    },
  });
}
