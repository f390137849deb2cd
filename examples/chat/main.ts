/**
 * The chat sample: rooms over WebSockets at `/ws?room=NAME` and a page at `/`.
 *
 *     deno run -A examples/chat/main.ts [--port 8080] [--hostname 0.0.0.0]
 *         [--backend native|engine] [--compression]
 *         [--redis redis://HOST:PORT [--room-order total|sender]] [--workers N]
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
 * `node:http` listener, where `--compression` accepts permessage-deflate
 * without server context takeover, so that each message is compressed once
 * for the whole room.
 * SIGINT and SIGTERM shut down gracefully through the processor: every
 * socket gets 1001 after what was queued for it.
 *
 * Running it in the open: `--token SECRET` refuses a WebSocket without
 * `?token=SECRET` with 401 (open the page as `/?token=SECRET`);
 * `--max-connections-per-ip N` answers 429 to an address holding N sockets;
 * `--rate-limit N` closes a socket sending more than N messages a second
 * with 1008; `GET /metrics` serves the server's metrics as Prometheus text.
 *
 * Scaling out: with `--redis redis://HOST:PORT`, every chat process started
 * with the same Redis (on any port or machine) serves the same rooms: a
 * message reaches every member of its room in every process exactly once,
 * in one order that every member sees (each message goes through Redis,
 * the sender's own process included; `--room-order sender` serves local
 * members at once instead, keeping only each sender's order), and the
 * member counts of `?stats=1` count the whole room (channels
 * `socketry:chat:…`). A Redis that
 * cannot be reached within 5 s at start-up stops the chat with an error
 * (exit code 1); a later outage keeps each process's own members served and
 * loses what crosses processes until Redis is back (reconnection and
 * resubscription are automatic). `--workers N` runs N isolates on one port
 * (`reusePort` on either backend; the kernel spreads the connections),
 * sharing their rooms through a `BroadcastChannel` (one order per room as
 * well: each isolate receives through a listening worker that sees its own
 * posts in their place; `--room-order sender` turns that off); with
 * `--redis` as well, each worker joins Redis as a chat process of its own.
 * Each isolate has its own `/metrics` and per-address limits.
 * `Deno.serve`'s `reusePort` needs Deno's `net` unstable feature, which this
 * repository's `deno.json` turns on (elsewhere, add `--unstable-net`).
 *
 * @module
 */

import { ChatStartError, startChatServer } from "./server.ts";
import {
  type ChatSettings,
  parseChatArgs,
  redacted,
  USAGE,
} from "./settings.ts";
import { startWorkers } from "./workers.ts";

const parsed = parseChatArgs(Deno.args);
if (parsed.kind === "help") {
  console.log(USAGE);
  Deno.exit(0);
}
if (parsed.kind === "error") {
  console.error(parsed.message);
  Deno.exit(2);
}
const settings = parsed.settings;

/** The chat, in this isolate or in workers. */
interface RunningChat {
  readonly address: { readonly hostname: string; readonly port: number };
  /** Stops it gracefully; resolves with the sockets completed. */
  stop(signal: string): Promise<number>;
}

/** Starts the chat in this isolate, or in workers. */
async function start(settings: ChatSettings): Promise<RunningChat> {
  if (settings.workers !== undefined) {
    const pool = await startWorkers(settings);
    return {
      address: pool.address,
      stop(signal) {
        console.log(
          `${signal}: closing the sockets of ${settings.workers} workers`,
        );
        return pool.stop();
      },
    };
  }
  const server = await startChatServer(settings, "alone");
  return {
    address: server.address,
    stop(signal) {
      console.log(`${signal}: closing ${server.sockets} socket(s)`);
      return server.stop();
    },
  };
}

let chat: RunningChat;
try {
  chat = await start(settings);
} catch (error) {
  if (!(error instanceof ChatStartError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}

const { hostname, port } = chat.address;
const shown = hostname === "0.0.0.0" || hostname === "::"
  ? "localhost"
  : hostname.includes(":")
  ? `[${hostname}]`
  : hostname;
console.log(`Listening on http://${shown}:${port}/`);
console.log(
  [
    `${settings.backend} backend`,
    ...(settings.compression ? ["permessage-deflate"] : []),
    ...(settings.workers === undefined ? [] : [
      `${settings.workers} worker isolate(s) on one port${
        settings.redis === undefined
          ? ", rooms shared through BroadcastChannel"
          : ""
      }`,
    ]),
    ...(settings.redis === undefined
      ? []
      : [`rooms shared through Redis at ${redacted(settings.redis)}`]),
    ...(settings.redis === undefined && settings.workers === undefined
      ? []
      : [settings.totalOrder ? "one order per room" : "one order per sender"]),
  ].join(", "),
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const completed = await chat.stop(signal);
  console.log(`Shut down after ${completed} socket(s) completed`);
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop(signal));
}
