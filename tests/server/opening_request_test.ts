/**
 * The stand-in for the request a native socket's handler gets: readable
 * long after Deno closed the request it upgraded.
 */

import assert from "node:assert/strict";
import { type Socket, webSockets } from "../../mod.ts";
import { openingRequest } from "../../lib/server/opening_request.ts";
import { Inbox } from "../helpers/client.ts";
import { handshakeRequest, rawHttp } from "../helpers/raw.ts";

interface Seen {
  token: string | null;
  upgrade: string | null;
  url: string;
  method: string;
  aborted: boolean;
  isRequest: boolean;
  cloned: string | null;
  body: string;
  mark: unknown;
  sameHeaders: boolean;
  immutable: boolean;
}

for (const authorize of [false, true]) {
  Deno.test(
    `native: the handler reads its request after an await, after the upgrade${
      authorize ? " (with authorize)" : ""
    }`,
    async () => {
      const seen = new Inbox<Seen | Error>();
      const sockets = new Inbox<Socket>();
      const { promise, resolve } = Promise.withResolvers<number>();
      const server = Deno.serve(
        {
          port: 0,
          hostname: "127.0.0.1",
          onListen: ({ port }) => resolve(port),
        },
        webSockets(
          { path: "/ws", ...(authorize ? { authorize: () => "ok" } : {}) },
          async (socket, request) => {
            sockets.push(socket);
            try {
              await new Promise((opened) =>
                socket.addEventListener("open", opened, { once: true })
              );
              const marked = request as Request & { mark?: unknown };
              marked.mark = 42;
              seen.push({
                token: request.headers.get("x-token"),
                upgrade: request.headers.get("upgrade"),
                url: new URL(request.url).pathname +
                  new URL(request.url).search,
                method: request.method,
                aborted: request.signal.aborted,
                isRequest: request instanceof Request,
                cloned: request.clone().headers.get("x-token"),
                body: await request.text(),
                mark: marked.mark,
                sameHeaders: request.headers === request.headers,
                // As in any Deno.serve handler: the original's headers.
                immutable: (() => {
                  try {
                    request.headers.set("x-added", "1");
                    return false;
                  } catch (error) {
                    return error instanceof TypeError;
                  }
                })(),
              });
            } catch (error) {
              seen.push(error as Error);
            }
          },
        ),
      );
      const port = await promise;
      try {
        const response = await rawHttp(
          port,
          handshakeRequest("/ws?room=1", ["X-Token: abc"]),
        );
        assert.equal(response.status, 101);
        const result = await seen.next();
        if (result instanceof Error) throw result;
        assert.deepEqual(result, {
          token: "abc",
          upgrade: "websocket",
          url: "/ws?room=1",
          method: "GET",
          aborted: false,
          isRequest: true,
          cloned: "abc",
          body: "",
          mark: 42,
          sameHeaders: true,
          immutable: true,
        });
        await (await sockets.next()).closed;
      } finally {
        await server.shutdown();
      }
    },
  );
}

Deno.test("openingRequest: the stand-in reads the original's headers; a copy carries changes to them", () => {
  const request = new Request("http://localhost/ws?x=1", {
    headers: [["X-B", "2"], ["x-a", "1"], ["Cookie", "a=1"]],
  });
  const standIn = openingRequest(request);
  assert.equal(standIn.headers, request.headers);
  assert.equal(standIn.url, "http://localhost/ws?x=1");
  assert.equal(standIn.method, "GET");
  assert.deepEqual([...standIn.headers], [
    ["cookie", "a=1"],
    ["x-a", "1"],
    ["x-b", "2"],
  ]);
  // Headers changed on the stand-in are those a copy made later carries.
  standIn.headers.set("x-c", "3");
  const copy = standIn.clone();
  assert.equal(copy.headers.get("x-c"), "3");
  assert.notEqual(copy, request);
});
