/**
 * One chat server: the rooms, the page, `/metrics`, the WebSocket route on
 * either backend, and the backplane its rooms reach other processes
 * through. `main.ts` runs one in the main isolate, or one in each worker.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import {
  type Backplane,
  BroadcastChannelBackplane,
  metricsHandler,
  serveEngine,
  ServerMetrics,
  type Socket,
  WebSocketError,
  webSockets,
  WebSocketStatus,
} from "../../mod.ts";
import { badRoom, Chat, roomRequest } from "./chat.ts";
import { type ChatSettings, redacted } from "./settings.ts";
import { serveSocketryJs } from "../socketry_js.ts";
import { CHAT_PAGE } from "./page.ts";

/** How long the chat waits for Redis at start-up before giving up. */
const REDIS_START_TIMEOUT = 5000;

/** How the server shares its rooms. */
export type Sharing =
  /** With nobody (unless `--redis`). */
  | "alone"
  /** With the other isolates of this process (unless `--redis`). */
  | "isolates";

/** A chat that could not start, with a message for the user. */
export class ChatStartError extends Error {
  override name = "ChatStartError";
}

/** A running chat server. */
export interface ChatServer {
  /** Where it listens. */
  readonly address: { readonly hostname: string; readonly port: number };
  /** How many sockets it holds. */
  readonly sockets: number;
  /**
   * Closes every socket (1001, after what was queued), stops listening and
   * leaves the backplane; resolves with the number of sockets completed.
   */
  stop(): Promise<number>;
}

/**
 * Starts a chat server. Rejects with a {@linkcode ChatStartError} when
 * Redis cannot be reached within 5 s.
 */
export async function startChatServer(
  settings: ChatSettings,
  sharing: Sharing,
  reusePort = false,
): Promise<ChatServer> {
  const backplane = settings.redis !== undefined
    ? await connectRedis(settings.redis)
    : sharing === "isolates"
    ? new BroadcastChannelBackplane({
      channel: "chat",
      totalOrder: settings.totalOrder,
    })
    : undefined;
  // With one order per room, an isolate listens through a worker of its
  // own: serve once it does, so that the first lines are in order too.
  if (backplane instanceof BroadcastChannelBackplane) await backplane.ready;
  const metrics = new ServerMetrics();
  if (backplane !== undefined) metrics.watchBackplane(backplane);
  const chat = new Chat(
    backplane === undefined
      ? { metrics }
      : { backplane, totalOrder: settings.totalOrder, metrics },
  );
  const processor = chat.processor;
  const scrape = metricsHandler(metrics);
  const token = settings.token;
  const expected = new TextEncoder().encode(token);
  const options = {
    path: "/ws",
    maxMessageSize: 1024 * 1024,
    heartbeat: true, // The page's heartbeats are answered, not relayed.
    metrics,
    limits: settings.limits,
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

  const listening = Promise.withResolvers<
    { hostname: string; port: number }
  >();
  let server: { shutdown(): Promise<void> };
  if (settings.backend === "engine") {
    const engine = serveEngine(
      {
        ...options,
        port: settings.port,
        hostname: settings.hostname,
        reusePort,
        // Without context takeover, each message is compressed once for the
        // whole room instead of once per member in its own zlib context
        // (bench/chat_compression.ts, 1,000 members: 1.07× the CPU per
        // delivery of no compression and 1.03× the RSS, against 2.5× and
        // 4.1× with context takeover).
        dangerouslyEnableCompression: settings.compression &&
          { disableServerContextTakeover: true },
        checkUpgrade: checkRoom,
      },
      onSocket,
      page,
    );
    engine.listening.then(listening.resolve, listening.reject);
    server = engine;
  } else {
    const sockets = webSockets(options, onSocket, page);
    try {
      server = Deno.serve(
        {
          port: settings.port,
          hostname: settings.hostname,
          onListen: listening.resolve,
          // Only when asked: it needs the `net` unstable feature.
          ...(reusePort ? { reusePort } : {}),
        },
        (request, info) => {
          if (new URL(request.url).pathname === "/ws") {
            const refusal = checkRoom(request);
            if (refusal !== undefined) return refusal;
          }
          return sockets(request, info);
        },
      );
    } catch (error) {
      // Deno.serve throws at once when it cannot listen.
      listening.reject(error);
      server = { shutdown: () => Promise.resolve() };
    }
  }
  let address;
  try {
    address = await listening.promise;
  } catch (error) {
    chat.close();
    await backplane?.close();
    throw cannotListen(error, settings);
  }
  return {
    address,
    get sockets() {
      return processor.size;
    },
    async stop() {
      chat.close();
      const completions = await processor.shutdown({ timeout: 5000 });
      await server.shutdown();
      await backplane?.close();
      return completions.length;
    },
  };
}

/**
 * A Redis backplane that is connected, or a {@linkcode ChatStartError}
 * with the reason after {@linkcode REDIS_START_TIMEOUT} ms of attempts.
 */
async function connectRedis(url: string): Promise<Backplane> {
  // Loaded only for --redis: the Redis client is the heaviest module here.
  const { RedisBackplane } = await import("../../lib/backplane/redis_mod.ts");
  const backplane = new RedisBackplane({ url, prefix: "chat" });
  let reason = "no answer";
  let state = backplane.state;
  // Wrong credentials stay wrong: no point in trying for the whole timeout.
  const refused = Promise.withResolvers<"refused">();
  // Also keeps the outages of later on in the log, one line per change.
  const stopLogging = backplane.onEvent((event) => {
    if (event.type !== "state") return;
    const error = event.error instanceof Error ? event.error : undefined;
    if (error !== undefined) {
      reason = error.cause instanceof Error
        ? error.cause.message
        : error.message;
      if (
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.CredentialsRefused
      ) {
        refused.resolve("refused");
      }
    }
    const was = state;
    state = event.state;
    if (state === was) return;
    if (state === "ready" && was === "down") {
      console.log(`Redis at ${redacted(url)}: ready again`);
    } else if (state === "down" && error !== undefined) {
      // (Closing the backplane goes down without an error.)
      console.warn(error.message);
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), REDIS_START_TIMEOUT);
  });
  const outcome = await Promise.race([
    backplane.ready.then(() => "ready" as const),
    timeout,
    refused.promise,
  ]);
  clearTimeout(timer);
  if (outcome === "ready") return backplane;
  stopLogging();
  await backplane.close();
  if (outcome === "refused") {
    throw new ChatStartError(
      `Redis at ${
        redacted(url)
      } refused the credentials (${reason}). Give its user and password in --redis: redis://[USER]:PASSWORD@HOST:PORT`,
    );
  }
  throw new ChatStartError(
    `Cannot reach Redis at ${redacted(url)} (${reason}); tried for ${
      REDIS_START_TIMEOUT / 1000
    } s. Start Redis or fix --redis.`,
  );
}

/** A clear message for the usual reasons a server cannot listen. */
function cannotListen(error: unknown, settings: ChatSettings): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  const where = `${settings.hostname}:${settings.port}`;
  if (error instanceof Deno.errors.AddrInUse || code === "EADDRINUSE") {
    return new ChatStartError(
      `Cannot listen on ${where}: the address is in use (another server, or choose --port)`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied || code === "EACCES") {
    return new ChatStartError(
      `Cannot listen on ${where}: not allowed (a port under 1024 needs privileges)`,
    );
  }
  return error;
}
