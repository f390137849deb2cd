/**
 * Smoke test of the real thing the external Autobahn run targets:
 * `deno run -A examples/echo/main.ts --backend engine` as a child process,
 * a handful of cases from each section against it, then SIGTERM: the
 * connected client gets 1001 and the process exits with 0.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { closePayload, Op, Peer, repeat } from "./peer.ts";
import { hex } from "../helpers/bytes.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

interface Child {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves once stdout shows `text` (or rejects after `ms`). */
  waitFor(text: string, ms: number): Promise<void>;
  output(): string;
  /** Waits for the exit and the end of the output (killing it if asked). */
  stop(kill: boolean): Promise<Deno.CommandStatus>;
}

function spawnExample(port: number): Child {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "examples/echo/main.ts",
      "--backend",
      "engine",
      "--port",
      String(port),
      "--hostname",
      "127.0.0.1",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  let exited = false;
  const watchers: (() => void)[] = [];
  const status = child.status.then((status) => {
    exited = true;
    for (const wake of watchers.splice(0)) wake();
    return status;
  });
  const pumps = Promise.all([
    (async () => {
      for await (
        const chunk of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        stdout += chunk;
        for (const wake of watchers.splice(0)) wake();
      }
    })(),
    (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        stderr += chunk;
      }
    })(),
  ]);
  const output = () => `--- stdout ---\n${stdout}--- stderr ---\n${stderr}`;
  return {
    pid: child.pid,
    status,
    output,
    async waitFor(text, ms) {
      const deadline = Date.now() + ms;
      while (!stdout.includes(text)) {
        if (exited) throw new Error(`the example exited early\n${output()}`);
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`the example never printed "${text}"\n${output()}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          watchers.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async stop(kill) {
      if (kill && !exited) {
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      const result = await status;
      await pumps;
      return result;
    },
  };
}

Deno.test("examples/echo/main.ts --backend engine passes a smoke run and exits 0 on SIGTERM", async (t) => {
  const port = freePort();
  const child = spawnExample(port);
  let stopped = false;
  try {
    await child.waitFor("Listening on", 20_000);
    assert.match(child.output(), /\(engine backend\)/);

    const open = () => Peer.connect({ port });
    const run = async (fn: (peer: Peer) => Promise<void>) => {
      const peer = await open();
      try {
        await fn(peer);
      } finally {
        await peer.dispose();
      }
    };

    await t.step(
      "1.1.2 / 1.2.6 text and binary echo",
      () =>
        run(async (peer) => {
          await peer.sendText("*".repeat(125));
          await peer.expectMessage("*".repeat(125));
          const binary = repeat(new Uint8Array([0xfe]), 65535);
          await peer.sendBinary(binary, { chop: 997 });
          await peer.expectMessage(binary);
          await peer.closeHandshake(1000);
        }),
    );

    await t.step("2.x ping and 2.5 oversized ping", async () => {
      await run(async (peer) => {
        await peer.ping("Hello, world!");
        await peer.expectPong("Hello, world!");
        await peer.closeHandshake(1000);
      });
      await run(async (peer) => {
        await peer.ping(repeat(new Uint8Array([0xfe]), 126));
        await peer.expectFailure(1002);
      });
    });

    await t.step("3.2 RSV bits: echo, then 1002", () =>
      run(async (peer) => {
        await peer.sendFrames([
          { opcode: Op.Text, payload: "Hello, world!" },
          { opcode: Op.Text, payload: "Hello, world!", rsv: 2 },
          { opcode: Op.Ping },
        ]);
        await peer.expectMessage("Hello, world!");
        await peer.expectFailure(1002);
      }));

    await t.step("4.1.1 reserved opcode: 1002", () =>
      run(async (peer) => {
        await peer.sendFrame({ opcode: 3 });
        await peer.expectFailure(1002);
      }));

    await t.step(
      "5.6 fragments with a ping between",
      () =>
        run(async (peer) => {
          await peer.sendFrames([
            { opcode: Op.Text, payload: "fragment1", fin: false },
            { opcode: Op.Ping, payload: "pongme!" },
            { opcode: Op.Continuation, payload: "fragment2" },
          ]);
          await peer.expectPong("pongme!");
          await peer.expectMessage("fragment1fragment2");
          await peer.closeHandshake(1000);
        }),
    );

    await t.step("6.3.1 invalid UTF-8: 1007", () =>
      run(async (peer) => {
        await peer.sendText(hex("cebae1bdb9cf83cebcceb5eda080656469746564"));
        await peer.expectFailure(1007);
      }));

    await t.step("7.1.1 / 7.3.1 / 7.9.1 close handling", async () => {
      await run(async (peer) => {
        await peer.sendText("Hello World!");
        await peer.sendClose(3000, "bye");
        await peer.expectMessage("Hello World!");
        await peer.expectClose(3000, { reply: false, reason: "bye" });
        await peer.expectEof();
      });
      await run((peer) => peer.closeHandshake(undefined));
      await run(async (peer) => {
        await peer.sendFrame({ opcode: Op.Close, payload: closePayload(0) });
        await peer.expectFailure(1002);
      });
    });

    await t.step("9.1.3 1 MiB text message", () =>
      run(async (peer) => {
        const payload = "*".repeat(1024 * 1024);
        await peer.sendText(payload);
        await peer.expectMessage(payload, { timeoutMs: 10_000 });
        await peer.closeHandshake(1000);
      }));

    await t.step({
      name: "9.1.4 4 MiB text message",
      fn: () =>
        run(async (peer) => {
          const payload = "*".repeat(4 * 1024 * 1024);
          await peer.sendText(payload);
          await peer.expectMessage(payload, { timeoutMs: 10_000 });
          await peer.closeHandshake(1000);
        }),
    });

    await t.step({
      name: "7.1.5 close between fragments is answered at once",
      fn: () =>
        run(async (peer) => {
          await peer.sendFrames([
            { opcode: Op.Text, payload: "fragment1", fin: false },
            { opcode: Op.Close, payload: closePayload(1000) },
            { opcode: Op.Continuation, payload: "fragment2" },
          ]);
          await peer.expectClose(1000, { reply: false, timeoutMs: 1000 });
          await peer.expectEof();
        }),
    });

    await t.step(
      "SIGTERM: the connected client gets 1001, the process exits 0",
      async () => {
        const peer = await open();
        try {
          await peer.sendText("still here");
          await peer.expectMessage("still here");
          Deno.kill(child.pid, "SIGTERM");
          await peer.expectClose(1001, { reply: true });
          await peer.expectEof();
        } finally {
          await peer.dispose();
        }
        const status = await child.stop(false);
        stopped = true;
        assert.equal(status.code, 0, child.output());
        assert.match(child.output(), /SIGTERM: closing 1 socket\(s\)/);
      },
    );
  } finally {
    if (!stopped) await child.stop(true);
  }
});
