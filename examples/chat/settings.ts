/**
 * The chat's command line: what each flag means, checked once, as plain
 * data that can be handed to worker isolates (which see the same
 * `Deno.args` but must not read them for themselves).
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { LimitsOptions } from "../../mod.ts";

/** The `--help` text. */
export const USAGE = `Usage: deno run -A examples/chat/main.ts [options]

  --port N                   port to listen on (default 8080)
  --hostname HOST            address to listen on (default 0.0.0.0)
  --backend native|engine    Deno.serve and Deno's WebSocket (default), or
                             socketry's engine on node:http
  --compression              accept permessage-deflate (engine only)
  --token SECRET             refuse WebSockets without ?token=SECRET (401)
  --max-connections-per-ip N answer 429 to an address holding N sockets
  --rate-limit N             close a socket sending more than N messages/s
  --redis redis://HOST:PORT  share the rooms with every chat process on this
                             Redis (channels socketry:chat:...)
  --workers N                run N isolates on one port; they
                             share the rooms through BroadcastChannel, or
                             through Redis with --redis
  --room-order total|sender  with --redis or --workers: one order of messages
                             for every member of a room in every process or
                             isolate (total, the default), or local members
                             served first, one order per sender (sender: no
                             round trip through Redis or a listening worker
                             before local members get a message)
  -h, --help                 show this text`;

/** Everything the command line decides. */
export interface ChatSettings {
  readonly port: number;
  readonly hostname: string;
  readonly backend: "native" | "engine";
  readonly compression: boolean;
  readonly token: string | undefined;
  readonly limits: LimitsOptions;
  /** The Redis URL of `--redis`. */
  readonly redis: string | undefined;
  /** The isolates of `--workers`; `undefined` serves from the main isolate. */
  readonly workers: number | undefined;
  /** `--room-order`: whether shared rooms have one order for all their members. */
  readonly totalOrder: boolean;
}

/** The command line read: settings, a request for help, or what is wrong. */
export type ParsedArgs =
  | { readonly kind: "settings"; readonly settings: ChatSettings }
  | { readonly kind: "help" }
  | { readonly kind: "error"; readonly message: string };

/** The most isolates `--workers` starts. */
const MAX_WORKERS = 64;

/** Reads the chat's command line. */
export function parseChatArgs(args: string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: "string", default: "8080" },
        hostname: { type: "string", default: "0.0.0.0" },
        backend: { type: "string", default: "native" },
        compression: { type: "boolean", default: false },
        token: { type: "string" },
        "max-connections-per-ip": { type: "string" },
        "rate-limit": { type: "string" },
        redis: { type: "string" },
        workers: { type: "string" },
        "room-order": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    return { kind: "error", message: `${(error as Error).message}\n${USAGE}` };
  }
  if (values.help) return { kind: "help" };
  const error = (message: string) => ({ kind: "error", message }) as const;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return error(`--port must be a port number, got ${values.port}`);
  }
  const backend = values.backend;
  if (backend !== "native" && backend !== "engine") {
    return error(`--backend must be native or engine, got ${backend}`);
  }
  if (values.compression && backend !== "engine") {
    return error(
      "--compression needs --backend engine: Deno's own socket cannot compress",
    );
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
      return error(`--${flag} must be a whole number >= 1, got ${text}`);
    }
    limits[limit] = value;
  }
  const token = values.token;
  if (token === "") return error("--token must not be empty");
  const redis = values.redis;
  if (redis !== undefined && !isRedisUrl(redis)) {
    return error(
      `--redis must be a URL such as redis://127.0.0.1:6379, got ${redis}`,
    );
  }
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      return error(
        `--workers must be a whole number from 1 to ${MAX_WORKERS}, got ${values.workers}`,
      );
    }
  }
  const order = values["room-order"];
  if (order !== undefined && order !== "total" && order !== "sender") {
    return error(`--room-order must be total or sender, got ${order}`);
  }
  if (order !== undefined && redis === undefined && workers === undefined) {
    return error(
      "--room-order needs --redis or --workers: one isolate has one order anyway",
    );
  }
  return {
    kind: "settings",
    settings: {
      port,
      hostname: values.hostname,
      backend,
      compression: values.compression,
      token,
      limits,
      redis,
      workers,
      totalOrder: (redis !== undefined || workers !== undefined) &&
        order !== "sender",
    },
  };
}

function isRedisUrl(text: string): boolean {
  try {
    const { protocol, hostname } = new URL(text);
    return (protocol === "redis:" || protocol === "rediss:") &&
      hostname !== "";
  } catch {
    return false;
  }
}

/** A URL with its password hidden, for messages. */
export function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.href;
}
