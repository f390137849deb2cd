/**
 * permessage-deflate against Node's `ws`, run by Node: its client in every
 * parameter variant against the engine listener, and socketry's client
 * against its server.
 */

import assert from "node:assert/strict";
import { connect, type Socket } from "../../mod.ts";
import { Inbox } from "../helpers/client.ts";
import { engineEcho } from "../helpers/echo.ts";

const client =
  new URL("./peers/ws_deflate_client.mjs", import.meta.url).pathname;
const server = new URL("./peers/ws_server.mjs", import.meta.url).pathname;

Deno.test("engine: ws clients compress and decompress in every variant", async () => {
  const sockets = new Inbox<Socket>();
  const echo = await engineEcho(
    { dangerouslyEnableCompression: true },
    sockets,
  );
  const output = await new Deno.Command("node", {
    args: [client, echo.url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n")
    .map((line) => JSON.parse(line));
  assert.equal(lines.length, 6);
  for (const line of lines) {
    assert.match(line.extensions, /^permessage-deflate/, JSON.stringify(line));
    assert.equal(line.intact, 4, JSON.stringify(line));
    assert.equal(line.joined, "frag-mented");
    assert.equal(line.close, 1000);
  }
  for (let i = 0; i < 6; i++) {
    const socket = await sockets.next();
    assert.match(socket.extensions, /^permessage-deflate/);
    assert.equal((await socket.closed).ending, "close");
  }
  await echo.close();
});

Deno.test("engine client: compressed round trips against the ws server", async () => {
  const variants = [true, {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
  }];
  for (const variant of variants) {
    const child = new Deno.Command("node", {
      args: [server, JSON.stringify(variant)],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const { value } = await lines.read();
      const { port } = JSON.parse(value!.split("\n")[0]!);
      const socket = await connect(`ws://127.0.0.1:${port}/`, {
        deflate: true,
      });
      assert.match(socket.extensions, /^permessage-deflate/);
      const text = "compress me ".repeat(10_000);
      const binary = new Uint8Array(1 << 20).fill(9);
      await socket.send(text);
      await socket.send(binary);
      await socket.send("part one, ", { endOfMessage: false });
      await socket.send("part two");
      const received: (string | Uint8Array)[] = [];
      for await (const message of socket) {
        received.push(message);
        if (received.length === 3) break;
      }
      assert.equal(received[0], text);
      assert.deepEqual(received[1], binary);
      assert.equal(received[2], "part one, part two");
      const closed = await socket.close(1000);
      assert.equal(closed.ending, "close");
    } finally {
      await lines.cancel();
      child.kill();
      await child.status;
    }
  }
});
