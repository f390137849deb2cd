/**
 * The HTTP/2 connect/close cycle of `http2_cycles_test.ts`, many times in a
 * process of its own with a garbage collection after each cycle, so that a
 * crash of the runtime ends this process and not the test runner. Each
 * cycle: `httpVersion: "2"` against `Deno.serve` over TLS (HTTP/2 without
 * WebSockets: `"exact"` fails, `"orLower"` falls back to HTTP/1.1) and
 * against an engine server that takes WebSockets over HTTP/2. Prints one
 * JSON line with the counts. The HTTP/1.1 fallback and the HTTP/2 socket
 * run every 20th cycle.
 *
 *     deno run -A --v8-flags=--expose-gc tests/client/peers/http2_cycles.ts CYCLES CA CERT KEY
 */

import { connect, serveEngine, type Socket } from "../../../mod.ts";

const [cycles = "100", caFile = "", certFile = "", keyFile = ""] = Deno.args;
const ca = Deno.readTextFileSync(caFile);
const cert = Deno.readTextFileSync(certFile);
const key = Deno.readTextFileSync(keyFile);
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

const plain = Deno.serve(
  { port: 0, hostname: "127.0.0.1", cert, key, onListen() {} },
  (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = ({ data }) => socket.send(data);
    return response;
  },
);
const engine = serveEngine(
  { port: 0, hostname: "127.0.0.1", http2: true, tls: { cert, key } },
  (socket) => {
    socket.addEventListener("message", ({ data }) => socket.send(data));
  },
);
const enginePort = (await engine.listening).port;

async function echo(socket: Socket): Promise<void> {
  await socket.send("ping");
  for await (const message of socket) {
    if (message !== "ping") throw new Error(`echoed ${message}`);
    break;
  }
  await socket.close();
}

const counts = { refused: 0, fellBack: 0, overHttp2: 0 };
for (let i = 0; i < Number(cycles); i++) {
  await connect(`wss://localhost:${plain.addr.port}/`, {
    caCerts: [ca],
    httpVersion: "2",
    versionPolicy: "exact",
  }).then(() => {
    throw new Error("Deno.serve took a WebSocket over HTTP/2");
  }, () => counts.refused++);
  collect();
  if (i % 20 !== 0) continue;
  await echo(
    await connect(`wss://localhost:${plain.addr.port}/`, {
      caCerts: [ca],
      httpVersion: "2",
    }),
  );
  counts.fellBack++;
  const socket = await connect(`wss://localhost:${enginePort}/`, {
    caCerts: [ca],
    httpVersion: "2",
    versionPolicy: "exact",
  });
  if (socket.httpVersion !== "2") throw new Error("not over HTTP/2");
  await echo(socket);
  counts.overHttp2++;
  collect();
}
await plain.shutdown();
await engine.shutdown();
console.log(JSON.stringify(counts));
