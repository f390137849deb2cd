/**
 * `deno serve --parallel` with two isolates on one port: clients land on
 * both, and a room's messages reach every member through the
 * BroadcastChannel backplane, once each and in each sender's order.
 */

import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { ROOT } from "../helpers/processes.ts";
import { freePort } from "./redis_server.ts";

Deno.test("deno serve --parallel: a room spans both isolates through BroadcastChannel, in one order for every member", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--parallel",
      "-A",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "tests/backplane/serve_parallel_app.ts",
    ],
    cwd: ROOT,
    env: {
      DENO_JOBS: "2",
      NO_COLOR: "1",
      SOCKETRY_TEST_CHANNEL: crypto.randomUUID(),
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  // Connecting before both isolates serve would put every client on one.
  const bothReady = Promise.withResolvers<void>();
  const ready = (async () => {
    for await (
      const text of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      log += text;
      if (log.split("isolate ready").length > 2) bothReady.resolve();
    }
    bothReady.reject(new Error(`deno serve ended:\n${log}`));
  })();
  const clients: TestClient[] = [];
  try {
    const url = `ws://127.0.0.1:${port}/ws`;
    const startUp = setTimeout(
      () => bothReady.reject(new Error(`isolates not ready in 30 s:\n${log}`)),
      30_000,
    );
    await bothReady.promise.finally(() => clearTimeout(startUp));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        clients.push(await TestClient.open(url));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`${error}\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    // New connections spread over the isolates; keep opening until both
    // hold members (each id starts with its isolate's backplane id).
    const isolates = new Map<string, TestClient[]>();
    const idOf = async (client: TestClient) => {
      client.ws.send("#id");
      return String(await client.next()).slice(3).split(":")[0]!;
    };
    isolates.set(await idOf(clients[0]!), [clients[0]!]);
    while (clients.length < 40 && (isolates.size < 2 || clients.length < 8)) {
      const client = await TestClient.open(url);
      clients.push(client);
      const isolate = await idOf(client);
      isolates.set(isolate, [...(isolates.get(isolate) ?? []), client]);
    }
    assert.equal(isolates.size, 2, "every connection landed on one isolate");
    // Let the joins settle, then one sender in each isolate.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [first, second] = [...isolates.values()].map((group) => group[0]!);
    const count = 500;
    for (let i = 1; i <= count; i++) {
      first!.ws.send(`x ${i}`);
      second!.ws.send(`y ${i}`);
    }
    const orders = await Promise.all(clients.map(async (client) => {
      const last: Record<string, number> = { x: 0, y: 0 };
      const order: string[] = [];
      for (let i = 0; i < 2 * count; i++) {
        const text = String(await client.next(10_000));
        const [sender, n] = text.split(" ");
        assert.equal(Number(n), last[sender!]! + 1, `${sender} reordered`);
        last[sender!] = Number(n);
        order.push(text);
      }
      return order;
    }));
    // Rooms in total order: every member, in either isolate, saw one sequence.
    for (const order of orders) assert.deepEqual(order, orders[0]);
    await Promise.all(
      clients.map((client) => assert.rejects(client.next(200), /no message/)),
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    // `deno serve --parallel` does not exit on SIGTERM here: kill it.
    child.kill("SIGKILL");
    await child.status;
    await ready;
  }
});
