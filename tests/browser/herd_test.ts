/**
 * 1,000 browser clients (the same module, on Deno's `WebSocket`) connected
 * to a real socketry server on loopback; the server shuts down (1001 to
 * every socket), stays down 300 ms and comes back on the same port. The
 * clients' reconnect attempts must spread over the backoff window (no
 * 100 ms slice holds more than 20% of them), every client must be back,
 * and a message each sent while the server was down must arrive once.
 * Prints the histogram.
 */

import assert from "node:assert/strict";
import {
  ReconnectingSocket,
  type ReconnectingSocket as Client,
} from "../../lib/browser/mod.ts";
import { type Socket, SocketProcessor, webSockets } from "../../mod.ts";
import { freePort } from "../helpers/page.ts";

const CLIENTS = 1000;
const DOWNTIME = 300;
const SLICE = 100;

/** Serves on `port` until `stop()`: sockets join a processor; messages are recorded. */
function serve(port: number, received: string[]) {
  const processor = new SocketProcessor({
    onSocket: async (socket: Socket) => {
      for await (const message of socket) received.push(String(message));
    },
  });
  const listening = Promise.withResolvers<void>();
  const server = Deno.serve(
    {
      port,
      hostname: "127.0.0.1",
      onListen: () => listening.resolve(),
    },
    webSockets(
      { path: "/ws", heartbeat: true },
      (socket) => processor.add(socket),
    ),
  );
  return {
    processor,
    listening: listening.promise,
    async stop() {
      // The listener stops first: no client gets back in while the
      // processor closes the others.
      await Promise.all([
        server.shutdown(),
        processor.shutdown({ timeout: 2000 }),
      ]);
    },
  };
}

/** Resolves when `check()` holds, polling; fails after `ms` with `what()`. */
async function until(check: () => boolean, ms: number, what: () => string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How many clients are in each state, and their counters summed. */
function states(clients: Client[]): string {
  const counts: Record<string, number> = {};
  let attempts = 0;
  let drops = 0;
  for (const client of clients) {
    counts[client.state] = (counts[client.state] ?? 0) + 1;
    attempts += client.stats.attempts;
    drops += client.stats.drops;
  }
  return JSON.stringify({ ...counts, attempts, drops });
}

Deno.test({
  name:
    `${CLIENTS} clients whose server restarts spread their reconnects over the backoff window`,
  fn: async () => {
    const port = freePort();
    const received: string[] = [];
    let server = serve(port, received);
    await server.listening;

    const clients: Client[] = [];
    const attempts: number[] = []; // Milliseconds after the shutdown began.
    let shutdownAt = Infinity;
    let open = 0;
    const reasons = new Map<string, number>();
    for (let i = 0; i < CLIENTS; i++) {
      const client = new ReconnectingSocket(`ws://127.0.0.1:${port}/ws`, {
        connectTimeout: 10_000,
      });
      client.addEventListener("open", () => open++);
      client.addEventListener("reconnecting", ({ code, reason }) => {
        const key = `${code} ${reason}`;
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      });
      client.addEventListener("connecting", ({ attempt }) => {
        if (attempt > 0) attempts.push(performance.now() - shutdownAt);
      });
      clients.push(client);
    }
    try {
      await until(
        () => open === CLIENTS,
        30_000,
        () => `${open} of ${CLIENTS} clients open`,
      );

      shutdownAt = performance.now();
      const stopping = server.stop();
      await until(
        () => clients.every((client) => client.state === "reconnecting"),
        10_000,
        () => `not every client noticed the shutdown: ${states(clients)}`,
      );
      for (const [i, client] of clients.entries()) {
        assert.equal(client.send(`queued ${i}`), "queued");
      }
      await stopping;
      const stoppedAfter = performance.now() - shutdownAt;
      await new Promise((resolve) => setTimeout(resolve, DOWNTIME));
      server = serve(port, received);
      await server.listening;
      const { processor } = server;
      await until(
        () =>
          processor.size === CLIENTS &&
          clients.every((client) => client.state === "open"),
        30_000,
        () =>
          `${processor.size} of ${CLIENTS} clients back: ${states(clients)}`,
      );
      await until(
        () => received.length === CLIENTS,
        10_000,
        () => `${received.length} of ${CLIENTS} queued messages arrived`,
      );

      const slices = new Map<number, number>();
      for (const ms of attempts) {
        const slice = Math.floor(ms / SLICE) * SLICE;
        slices.set(slice, (slices.get(slice) ?? 0) + 1);
      }
      const rows = [...slices].sort(([a], [b]) => a - b);
      console.log(
        `\nReconnect attempts after the shutdown began (${attempts.length} attempts by ${CLIENTS} clients; the server took ${
          stoppedAfter.toFixed(0)
        } ms to shut down, then stayed down ${DOWNTIME} ms). How connections ended: ${
          JSON.stringify(Object.fromEntries(reasons))
        }`,
      );
      for (const [slice, count] of rows) {
        console.log(
          `  ${String(slice).padStart(5)}-${
            String(slice + SLICE).padEnd(5)
          } ms ${String(count).padStart(4)} ${
            "#".repeat(Math.round(count / 5))
          }`,
        );
      }
      const largest = Math.max(...slices.values());
      console.log(
        `  largest slice: ${largest} (${
          (100 * largest / attempts.length).toFixed(1)
        }%)`,
      );
      assert.ok(attempts.length >= CLIENTS);
      assert.ok(
        largest <= 0.2 * attempts.length,
        `a ${SLICE} ms slice holds ${largest} of ${attempts.length} attempts`,
      );
      // Every message queued while down arrived once.
      assert.deepEqual(
        [...received].sort(),
        clients.map((_, i) => `queued ${i}`).sort(),
      );
      // The first attempts came no sooner than the 500 ms floor after each drop.
      assert.ok(Math.min(...attempts) >= 500, `${Math.min(...attempts)} ms`);
    } finally {
      const closed = clients.map((client) =>
        new Promise((resolve) =>
          client.addEventListener("closed", resolve, { once: true })
        )
      );
      for (const client of clients) client.close();
      await Promise.all(closed);
      await server.stop();
    }
  },
});
