/**
 * The two fan-out generators of bench/fanout.ts (the C load generator's
 * `--mode fanout` and the clients in the Deno process) against small room
 * servers in this process: on a correct room both count every delivery
 * with none lost or reordered, across two servers sharing one room too;
 * a room that drops or reorders messages is caught; the C one with
 * `spin` counts the same and keeps its core busy while it publishes. The C
 * one needs gcc (ignored with a notice without it, an error in CI).
 */

import assert from "node:assert/strict";
import { gccAvailable } from "../../bench/loadgen/build.ts";
import { cpuSeconds } from "../../bench/helpers/cpu.ts";
import {
  type Delivered,
  denoFanout,
  type FanoutGenerator,
  type FanoutLoad,
  loadgenFanout,
} from "../../bench/helpers/fanout_generator.ts";
import { peerAvailable } from "../helpers/peers.ts";

const withGcc = peerAvailable(
  "gcc",
  gccAvailable(),
  "apt-get install gcc libc6-dev",
);

/** What a room does to a message on its way to one member. */
type Fault = "none" | "drop" | "swap" | "close";

/**
 * `servers` listeners sharing one room: every text goes to every member,
 * the sender included. With a fault, members other than the sender lose
 * (`drop`) or get late (`swap`: after the next one) every numbered message
 * whose number ends in 2 or 7; `close` closes one member other than the
 * sender when message 1 arrives.
 */
function room(servers: number, fault: Fault = "none") {
  const members = new Set<WebSocket>();
  const held = new Map<WebSocket, string>();
  const relay = (sender: WebSocket, text: string) => {
    const seq = Number(text.slice(0, text.indexOf(" ")));
    if (fault === "close" && seq === 1) {
      [...members].find((member) => member !== sender)?.close(1008, "Gone");
    }
    const faulty = (fault === "drop" || fault === "swap") &&
      !text.startsWith("w") &&
      seq % 5 === 2;
    for (const member of members) {
      if (member.readyState !== WebSocket.OPEN) continue;
      if (!faulty || member === sender) {
        member.send(text);
        const late = held.get(member);
        if (late !== undefined && member !== sender) {
          held.delete(member);
          member.send(late);
        }
      } else if (fault === "swap") held.set(member, text);
    }
  };
  return Array.from(
    { length: servers },
    () =>
      Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        (request) => {
          const { socket, response } = Deno.upgradeWebSocket(request);
          socket.onopen = () => members.add(socket);
          socket.onclose = () => members.delete(socket);
          socket.onmessage = (event) => relay(socket, event.data as string);
          return response;
        },
      ),
  );
}

async function run(
  generate: (load: FanoutLoad) => Promise<FanoutGenerator>,
  servers: Deno.HttpServer<Deno.NetAddr>[],
  load: Partial<FanoutLoad> = {},
  during?: (generator: FanoutGenerator) => Promise<Delivered>,
): Promise<Delivered> {
  const generator = await generate({
    urls: servers.map((server) =>
      new URL(`ws://127.0.0.1:${server.addr.port}/ws`)
    ),
    receivers: 20,
    seconds: 0.5,
    rate: undefined,
    inFlight: 4,
    messageBytes: 64,
    ...load,
  });
  try {
    return await (during?.(generator) ?? generator.publish());
  } finally {
    await generator.close();
    await Promise.all(servers.map((server) => server.shutdown()));
  }
}

function assertWhole(delivered: Delivered, receivers: number, urls: number) {
  assert.ok(delivered.published > 4, `published ${delivered.published}`);
  assert.equal(delivered.deliveries, delivered.published * receivers);
  assert.equal(delivered.lost, 0);
  assert.equal(delivered.reordered, 0);
  assert.equal(delivered.within250, 1);
  assert.ok(delivered.p50 > 0 && delivered.p99 >= delivered.p50);
  assert.ok(delivered.seconds > 0.3 && delivered.seconds < 5);
  assert.equal(delivered.perServer.length, urls);
  for (const { p50 } of delivered.perServer) assert.ok(p50 > 0);
}

for (
  const [name, generate, ignore] of [
    ["C load generator", loadgenFanout, !withGcc],
    ["Deno generator", denoFanout, false],
  ] as const
) {
  Deno.test({
    name:
      `fanout generator (${name}): every delivery counted on a correct room`,
    ignore,
    fn: async () => {
      assertWhole(await run(generate, room(1)), 20, 1);
    },
  });

  Deno.test({
    name: `fanout generator (${name}): one room over two servers`,
    ignore,
    fn: async () => {
      assertWhole(await run(generate, room(2)), 20, 2);
    },
  });

  Deno.test({
    name: `fanout generator (${name}): a room that drops messages loses them`,
    ignore,
    fn: async () => {
      const delivered = await run(generate, room(1, "drop"));
      assert.ok(delivered.lost > 0, "lost");
      assert.ok(delivered.deliveries < delivered.published * 20);
      assert.ok(delivered.within250 < 1);
    },
  });

  Deno.test({
    name: `fanout generator (${name}): a room that reorders is caught`,
    ignore,
    fn: async () => {
      const delivered = await run(generate, room(1, "swap"));
      assert.ok(delivered.reordered > 0, "reordered");
    },
  });

  Deno.test({
    name: `fanout generator (${name}): --rate publishes on a clock`,
    ignore,
    fn: async () => {
      const delivered = await run(generate, room(1), { rate: 100 });
      // 0.5 s at 100 a second.
      assert.ok(
        delivered.published >= 40 && delivered.published <= 51,
        `published ${delivered.published}`,
      );
      assert.equal(delivered.deliveries, delivered.published * 20);
    },
  });
}

Deno.test({
  name: "fanout generator (C load generator): a refused socket is an error",
  ignore: !withGcc,
  fn: async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("no room", { status: 400 }),
    );
    await assert.rejects(
      run(loadgenFanout, [server]),
      /C load generator failed: .*handshake answered HTTP\/1.1 400/,
    );
  },
});

Deno.test({
  name:
    "fanout generator (C load generator): a receiver the room closes fails the window",
  ignore: !withGcc,
  fn: async () => {
    await assert.rejects(
      run(loadgenFanout, room(1, "close")),
      /receivers failed: socket \d+: the server sent a close frame unasked/,
    );
  },
});

/** The generator's CPU seconds per second of its publishing window. */
async function busyShare(spin: boolean): Promise<number> {
  let share = NaN;
  const delivered = await run(
    loadgenFanout,
    room(1),
    { spin, seconds: 1, rate: 50 },
    async (generator) => {
      const before = cpuSeconds(generator.pid)!;
      const start = performance.now();
      const delivered = await generator.publish();
      share = (cpuSeconds(generator.pid)! - before) /
        ((performance.now() - start) / 1000);
      return delivered;
    },
  );
  assert.equal(delivered.deliveries, delivered.published * 20);
  assert.equal(delivered.lost, 0);
  return share;
}

Deno.test({
  name:
    "fanout generator (C load generator): spin counts every delivery and never sleeps",
  ignore: !withGcc,
  fn: async () => {
    const spinning = await busyShare(true);
    const sleeping = await busyShare(false);
    // Spinning holds the core whatever the room does; 50 messages a
    // second to 20 receivers leave a sleeping generator idle.
    assert.ok(spinning > 0.6, `spinning: ${spinning} of a core`);
    assert.ok(sleeping < spinning / 2, `sleeping: ${sleeping} of a core`);
  },
});

Deno.test("fanout generator (Deno generator): spin is refused", async () => {
  await assert.rejects(
    denoFanout({
      urls: [new URL("ws://127.0.0.1:1/ws")],
      receivers: 1,
      seconds: 1,
      rate: undefined,
      inFlight: 1,
      messageBytes: 64,
      spin: true,
    }),
    /only the C load generator spins/,
  );
});
