/**
 * The echo sample: a WebSocket echo at `/ws`, a page at `/`, and
 * socketry's browser client, which the page uses, at `/socketry.js`.
 *
 *     deno run --allow-net [--allow-read] examples/echo/main.ts [--port 8080]
 *         [--hostname H] [--allowed-origin URL]... [--backend native|engine]
 *         [--compression] [--http2] [--cert FILE --key FILE]
 *
 * `--backend native` (the default) runs on `Deno.serve` and Deno's own
 * WebSocket; `--backend engine` runs on socketry's RFC 6455 engine and its
 * `node:http` listener. `--compression` (engine only) accepts
 * permessage-deflate when the client offers it. `--cert` and `--key` (PEM
 * files, read with `--allow-read`) serve HTTPS and WSS. `--http2` (engine
 * only) serves HTTP/2 beside HTTP/1.1 on the same port, WebSockets included
 * (RFC 8441): over TLS with `--cert`/`--key`, as h2c without.
 *
 * Every message comes back with its type until the client closes (the
 * browser client's heartbeats are answered, not echoed); the close
 * handshake is completed with the client's status and description. SIGINT
 * and SIGTERM shut down gracefully through the processor: every socket gets
 * 1001 after what was queued for it, and the last line it prints says how
 * many sockets it accepted and completed since it started.
 *
 * @module
 */

import { parseArgs } from "node:util";
// The server entry point (`@socketry/socketry/server`): the native backend
// does not load the engine and its node:http listener; --backend engine
// imports them below.
import {
  type Socket,
  type SocketCompletion,
  SocketProcessor,
  webSockets,
} from "../../lib/server/mod.ts";
import { serveSocketryJs } from "../socketry_js.ts";
import { ECHO_PAGE } from "./page.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "0.0.0.0" },
    "allowed-origin": { type: "string", multiple: true },
    backend: { type: "string", default: "native" },
    compression: { type: "boolean", default: false },
    http2: { type: "boolean", default: false },
    cert: { type: "string" },
    key: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run --allow-net examples/echo/main.ts [--port 8080] [--hostname 0.0.0.0] [--allowed-origin URL]... [--backend native|engine] [--compression] [--http2] [--cert FILE --key FILE]",
  );
  Deno.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port}`);
  Deno.exit(2);
}
const backend = values.backend;
if (backend !== "native" && backend !== "engine") {
  console.error(`--backend must be native or engine, got ${backend}`);
  Deno.exit(2);
}
if (values.compression && backend !== "engine") {
  console.error(
    "--compression needs --backend engine: Deno's own socket cannot compress",
  );
  Deno.exit(2);
}
if (values.http2 && backend !== "engine") {
  console.error(
    "--http2 needs --backend engine: Deno.serve cannot accept WebSockets over HTTP/2",
  );
  Deno.exit(2);
}
if ((values.cert === undefined) !== (values.key === undefined)) {
  console.error("--cert and --key go together: a certificate and its key");
  Deno.exit(2);
}
const tls = values.cert === undefined || values.key === undefined
  ? undefined
  : {
    cert: await Deno.readTextFile(values.cert),
    key: await Deno.readTextFile(values.key),
  };
const allowedOrigins = values["allowed-origin"];

// Message events run synchronously as each message arrives, so every echo is
// on its way before the close handshake that may follow it: Deno's native
// socket answers a close frame at once, before an async loop would resume.
// The work returns at once: the processor holds each socket until it closes.
const processor = new SocketProcessor({
  onSocket: (socket) => {
    socket.addEventListener("message", ({ data }) => {
      socket.send(data).catch(() => socket.close(1008, "Echo failed"));
    });
  },
});

// Counted so that a churn soak can check every socket completed exactly once.
let accepted = 0;
let completed = 0;
// One shared callback, not a suspended async function per socket.
const countCompleted = (completion: SocketCompletion) => {
  completed++;
  return completion;
};
const track = (socket: Socket) => {
  accepted++;
  return processor.add(socket).then(countCompleted);
};

const options = {
  path: "/ws",
  maxMessageSize: 64 * 1024 * 1024,
  heartbeat: true, // Answers the page's heartbeats (see /socketry.js).
  ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
};
const page = (request: Request) => {
  const { pathname } = new URL(request.url);
  if (pathname === "/" || pathname === "/index.html") {
    return new Response(ECHO_PAGE, {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  }
  if (pathname === "/favicon.ico") return new Response(null, { status: 204 });
  const script = serveSocketryJs(pathname);
  if (script !== undefined) return script;
  return new Response("Not Found\n", { status: 404 });
};
const announce = ({ hostname, port }: { hostname: string; port: number }) => {
  const shown = hostname === "0.0.0.0" || hostname === "::"
    ? "localhost"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  const scheme = tls === undefined ? "http" : "https";
  const version = values.http2
    ? tls === undefined ? ", HTTP/2 cleartext (h2c)" : ", HTTP/2"
    : "";
  console.log(
    `Listening on ${scheme}://${shown}:${port}/ (${backend} backend${version})`,
  );
};

let server: { shutdown(): Promise<void> };
if (backend === "engine") {
  const { serveEngine } = await import("../../lib/engine/mod.ts");
  server = serveEngine(
    {
      ...options,
      port,
      hostname: values.hostname,
      onListen: announce,
      dangerouslyEnableCompression: values.compression,
      http2: values.http2,
      ...(tls === undefined ? {} : { tls }),
    },
    track,
    page,
  );
} else {
  server = Deno.serve(
    { port, hostname: values.hostname, onListen: announce, ...tls },
    webSockets(options, track, page),
  );
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing ${processor.size} socket(s)`);
  const completions = await processor.shutdown({ timeout: 5000 });
  await server.shutdown();
  console.log(`Shut down after ${completions.length} socket(s) completed`);
  console.log(
    `Since start: ${accepted} socket(s) accepted, ${completed} completed`,
  );
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop(signal));
}
