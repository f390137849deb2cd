/**
 * The chat sample: rooms over WebSockets at `/ws?room=NAME` and a page at `/`.
 *
 *     deno run -A examples/chat/main.ts [--port 8080] [--hostname 0.0.0.0]
 *         [--backend native|engine] [--compression]
 *
 * Every message (text or binary) a client sends is delivered unchanged to
 * every socket in its room, the sender included, in the one order the server
 * relayed them; nothing else is sent on the socket unless the client opens
 * it with `?stats=1` (see `chat.ts`). The room is `lobby` unless `room=`
 * names another: 1 to 64 letters, digits, `-`, `_` or `.`; anything else is
 * refused with 400 and the reason.
 *
 * `--backend native` (the default) runs on `Deno.serve` and Deno's own
 * WebSocket; `--backend engine` runs on socketry's RFC 6455 engine and its
 * `node:http` listener, where `--compression` accepts permessage-deflate.
 * SIGINT and SIGTERM shut down gracefully through the processor: every
 * socket gets 1001 after what was queued for it.
 *
 * Running it in the open: `--token SECRET` refuses a WebSocket without
 * `?token=SECRET` with 401 (open the page as `/?token=SECRET`);
 * `--max-connections-per-ip N` answers 429 to an address holding N sockets;
 * `--rate-limit N` closes a socket sending more than N messages a second
 * with 1008; `GET /metrics` serves the server's metrics as Prometheus text.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { parseArgs } from "node:util";
import {
  type LimitsOptions,
  metricsHandler,
  serveEngine,
  ServerMetrics,
  type Socket,
  webSockets,
} from "../../mod.ts";
import { badRoom, Chat, roomRequest } from "./chat.ts";
import { serveSocketryJs } from "../socketry_js.ts";
import { CHAT_PAGE } from "./page.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8080" },
    hostname: { type: "string", default: "0.0.0.0" },
    backend: { type: "string", default: "native" },
    compression: { type: "boolean", default: false },
    token: { type: "string" },
    "max-connections-per-ip": { type: "string" },
    "rate-limit": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "Usage: deno run -A examples/chat/main.ts [--port 8080] [--hostname 0.0.0.0] [--backend native|engine] [--compression] [--token SECRET] [--max-connections-per-ip N] [--rate-limit N]",
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
const limits: LimitsOptions = {};
for (
  const [flag, limit] of [
    ["max-connections-per-ip", "connectionsPerAddress"],
    ["rate-limit", "messagesPerSecond"],
  ] as const
) {
  const text = values[flag];
  if (text === undefined) continue;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${flag} must be a whole number >= 1, got ${text}`);
    Deno.exit(2);
  }
  limits[limit] = value;
}
const token = values.token;
if (token === "") {
  console.error("--token must not be empty");
  Deno.exit(2);
}

const chat = new Chat();
const processor = chat.processor;

const metrics = new ServerMetrics();
const scrape = metricsHandler(metrics);
const expected = new TextEncoder().encode(token);
const options = {
  path: "/ws",
  maxMessageSize: 1024 * 1024,
  heartbeat: true, // The page's heartbeats are answered, not relayed.
  metrics,
  limits,
  ...(token === undefined ? {} : {
    authorize: (request: Request) => {
      const given = new TextEncoder().encode(
        new URL(request.url).searchParams.get("token") ?? "",
      );
      // Compared in constant time: the time taken says nothing of the secret.
      const ok = given.byteLength === expected.byteLength &&
        timingSafeEqual(given, expected);
      return ok ? undefined : new Response(
        "Unauthorized: this chat needs ?token=\n",
        { status: 401, headers: { "www-authenticate": "Token" } },
      );
    },
  }),
};
const onSocket = (socket: Socket, request: Request) => {
  // The room was checked before the upgrade.
  const asked = roomRequest(new URL(request.url));
  if (!asked.ok) return socket.close(1008, asked.reason);
  return chat.add(socket, asked.room, asked.stats);
};
const checkRoom = (request: Request) => {
  const asked = roomRequest(new URL(request.url));
  return asked.ok ? undefined : badRoom(asked.reason);
};
const page = (request: Request) => {
  const { pathname } = new URL(request.url);
  if (pathname === "/" || pathname === "/index.html") {
    return new Response(CHAT_PAGE, {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  }
  if (pathname === "/favicon.ico") return new Response(null, { status: 204 });
  if (pathname === "/metrics") return scrape(request);
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
  console.log(`Listening on http://${shown}:${port}/`);
  console.log(
    `${backend} backend${values.compression ? ", permessage-deflate" : ""}`,
  );
};

let server: { shutdown(): Promise<void> };
if (backend === "engine") {
  server = serveEngine(
    {
      ...options,
      port,
      hostname: values.hostname,
      onListen: announce,
      dangerouslyEnableCompression: values.compression,
      checkUpgrade: checkRoom,
    },
    onSocket,
    page,
  );
} else {
  const sockets = webSockets(options, onSocket, page);
  server = Deno.serve(
    { port, hostname: values.hostname, onListen: announce },
    (request, info) => {
      if (new URL(request.url).pathname === "/ws") {
        const refusal = checkRoom(request);
        if (refusal !== undefined) return refusal;
      }
      return sockets(request, info);
    },
  );
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing ${processor.size} socket(s)`);
  chat.close();
  const completions = await processor.shutdown({ timeout: 5000 });
  await server.shutdown();
  console.log(`Shut down after ${completions.length} socket(s) completed`);
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop(signal));
}
