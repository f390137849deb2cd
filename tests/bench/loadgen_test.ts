/**
 * The C load generator of bench/echo_scenarios.ts (bench/loadgen/loadgen.c)
 * against small echo servers in this process: it counts echoes and
 * handshakes from a correct server without an error, and reports an error
 * when a server corrupts an echo or answers the handshake with a wrong
 * Sec-WebSocket-Accept, so that a broken server cannot look fast. Needs
 * gcc (ignored with a notice without it, an error in CI).
 */

import assert from "node:assert/strict";
import { buildLoadgen, gccAvailable } from "../../bench/loadgen/build.ts";
import { peerAvailable } from "../helpers/peers.ts";

const run = peerAvailable(
  "gcc",
  gccAvailable(),
  "apt-get install gcc libc6-dev",
);

interface Report {
  roundTrips: number;
  latencyMicros: { p50: number | null; p999: number | null };
  perSocket?: { min: number; max: number };
  errors: Record<string, number>;
  firstError: string | null;
}

async function loadgen(args: string[]): Promise<Report> {
  const output = await new Deno.Command(await buildLoadgen(), {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(output.stdout)) as Report;
}

/** An echo server on Deno.upgradeWebSocket; `change` alters what it echoes. */
function echoServer(
  change: (data: string | ArrayBuffer) => string | ArrayBuffer = (data) => data,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (
    request,
  ) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => socket.send(change(e.data));
    return response;
  });
}

function errorTotal(report: Report): number {
  return Object.values(report.errors).reduce((a, b) => a + b, 0);
}

Deno.test({
  name: "loadgen: echoes and handshakes from a correct server, no errors",
  ignore: !run,
  fn: async () => {
    const server = echoServer();
    const url = `ws://127.0.0.1:${server.addr.port}/ws`;
    try {
      const text = await loadgen([
        ...["--url", url, "--mode", "echo", "--conns", "4"],
        ...["--inflight", "3", "--size", "64", "--warmup", "0.2"],
        ...["--seconds", "1"],
      ]);
      assert.equal(errorTotal(text), 0, text.firstError ?? "");
      assert.ok(text.roundTrips > 0);
      assert.ok(text.perSocket!.min > 0, "every socket got echoes");
      assert.ok(text.latencyMicros.p50! > 0);
      assert.ok(text.latencyMicros.p999! >= text.latencyMicros.p50!);

      // 70,000 bytes: the 8-byte length form, and echoes over many reads.
      const binary = await loadgen([
        ...["--url", url, "--mode", "echo", "--conns", "1"],
        ...["--inflight", "2", "--size", "70000", "--binary"],
        ...["--warmup", "0", "--seconds", "0.5"],
      ]);
      assert.equal(errorTotal(binary), 0, binary.firstError ?? "");
      assert.ok(binary.roundTrips > 0);

      const cycles = await loadgen([
        ...["--url", url, "--mode", "handshake", "--conns", "4"],
        ...["--warmup", "0", "--seconds", "0.5"],
      ]);
      assert.equal(errorTotal(cycles), 0, cycles.firstError ?? "");
      assert.ok(cycles.roundTrips > 0);
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "loadgen: an echo with one byte changed is a mismatch",
  ignore: !run,
  fn: async () => {
    // "~" is not among the load generator's text characters.
    const server = echoServer((data) =>
      typeof data === "string" ? `${data.slice(0, -1)}~` : data
    );
    try {
      const report = await loadgen([
        ...["--url", `ws://127.0.0.1:${server.addr.port}/ws`],
        ...["--mode", "echo", "--conns", "2", "--size", "64"],
        ...["--warmup", "0", "--seconds", "0.3"],
      ]);
      assert.equal(report.errors.mismatch, 2);
      assert.equal(report.roundTrips, 0);
      assert.match(report.firstError!, /bytes differ/);
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "loadgen: a wrong Sec-WebSocket-Accept fails the handshake",
  ignore: !run,
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = (async () => {
      const conn = await listener.accept();
      const buffer = new Uint8Array(4096);
      await conn.read(buffer);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        ),
      );
      while (await conn.read(buffer) !== null) {
        // Until the load generator hangs up.
      }
      conn.close();
    })();
    try {
      const report = await loadgen([
        ...["--url", `ws://127.0.0.1:${listener.addr.port}/ws`],
        ...["--mode", "echo", "--conns", "1"],
        ...["--warmup", "0", "--seconds", "0.2"],
      ]);
      assert.equal(report.errors.handshake, 1);
      assert.match(report.firstError!, /Sec-WebSocket-Accept/);
    } finally {
      await served;
      listener.close();
    }
  },
});
