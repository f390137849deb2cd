/**
 * The chat example's production flags, run as a user would: --token (401
 * without it), --max-connections-per-ip (429 past it), --rate-limit (1008
 * for the flooder while others chat) and GET /metrics judged by promtool.
 */

import assert from "node:assert/strict";
import { connect, type Socket, type SocketClosed } from "../../mod.ts";
import { startChat } from "../helpers/chat.ts";
import { waitFor } from "../helpers/client.ts";
import { hasPromtool, promtoolCheck } from "../helpers/promtool.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

const promtool = hasPromtool();

/** Counts the messages `socket` receives that start with `prefix`. */
function counting(socket: Socket, prefix: string): { count: number } {
  const seen = { count: 0 };
  socket.addEventListener("message", ({ data }) => {
    if (typeof data === "string" && data.startsWith(prefix)) seen.count++;
  });
  return seen;
}

/** Sends as fast as the socket takes messages until it ends. */
async function flood(socket: Socket): Promise<SocketClosed> {
  for (let sent = 0; socket.state === "open"; sent++) {
    try {
      await socket.send(`flood ${sent}`);
    } catch {
      break;
    }
    if (sent % 64 === 0) await new Promise((resolve) => setTimeout(resolve));
  }
  return socket.closed;
}

for (const backend of ["engine", "native"]) {
  Deno.test(`chat --backend ${backend} with --token, --max-connections-per-ip, --rate-limit and /metrics`, async () => {
    const chat = await startChat([
      "--backend",
      backend,
      "--token",
      "s3cret",
      "--max-connections-per-ip",
      "3",
      "--rate-limit",
      "20",
    ]);
    const sockets: Socket[] = [];
    try {
      for (const query of ["", "?token=wrong", "?room=lobby&token=s3cre"]) {
        const refused = await rawHttp(
          chat.port,
          handshakeRequest(`/ws${query}`),
        );
        assert.equal(refused.status, 401, query);
        assert.doesNotMatch(refused.raw, /101 Switching/);
      }
      const url = `${chat.url}?room=lobby&token=s3cret`;
      const flooder = await connect(url);
      const talker = await connect(url);
      const third = await connect(url);
      sockets.push(flooder, talker, third);
      flooder.addEventListener("message", () => {});
      third.addEventListener("message", () => {});
      const over = await rawHttp(
        chat.port,
        handshakeRequest("/ws?room=lobby&token=s3cret"),
      );
      assert.equal(over.status, 429);

      const heard = counting(talker, "talk ");
      const ending = flood(flooder);
      let said = 0;
      const talking = (async () => {
        while (said < 10) {
          await talker.send(`talk ${said++}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const outcome = await ending;
      if (backend === "engine") {
        assert.equal(outcome.code, 1008);
        assert.match(outcome.reason, /Rate limit: more than 20 messages/);
      } else {
        // Deno's socket resets a connection whose peer is still sending.
        assert.ok([1008, 1006].includes(outcome.code), String(outcome.code));
      }
      await talking;
      await waitFor(() => heard.count === 10, 10_000, "every talk message");
      assert.equal(talker.state, "open");

      // The flooder's slot is free again once the server's side of it
      // ended: on the engine, after it held reading back (4 s of the 5 s
      // close timeout) and then read the flooder's close reply.
      const scrape = async () =>
        await (await fetch(`http://127.0.0.1:${chat.port}/metrics`)).text();
      for (let i = 0; i < 100; i++) {
        if (/^socketry_connections_open 2$/m.test(await scrape())) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const fourth = await connect(url).catch(() => undefined);
      assert.ok(fourth !== undefined, "a new socket after the flooder left");
      sockets.push(fourth);

      const text = await scrape();
      assert.match(
        text,
        /^socketry_handshakes_refused_total\{reason="authorize",status="401"\} 3$/m,
      );
      assert.match(
        text,
        /^socketry_handshakes_refused_total\{reason="address_limit",status="429"\} 1$/m,
      );
      assert.match(
        text,
        /^socketry_limit_hits_total\{limit="messages_per_second"\} 1$/m,
      );
      assert.match(text, /^socketry_connections_open 3$/m);
      // Everyone is in lobby: the room, and the chat's group of the sockets
      // that asked for no statistics.
      assert.match(text, /^socketry_groups 2$/m);
      if (promtool) {
        assert.deepEqual(await promtoolCheck(text), { code: 0, output: "" });
      }
    } finally {
      for (const socket of sockets) socket.abort();
      const status = await chat.stop();
      assert.equal(status.code, 0, chat.output());
    }
  });
}
