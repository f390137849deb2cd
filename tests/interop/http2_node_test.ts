/**
 * WebSockets over HTTP/2 (RFC 8441) from an independent client: Node's own
 * `node:http2`, run by `node` (`peers/h2_connect_client.mjs`, frames built
 * by hand), against socketry's `serveEngine({ http2: true })`, over TLS
 * (ALPN h2, the test CA trusted) and over cleartext h2c (prior knowledge).
 *
 * On one HTTP/2 session the peer checks the server's SETTINGS
 * (`enableConnectProtocol`), GETs `/` from the request handler, opens an
 * extended CONNECT to `/ws` (subprotocol chosen by the server's preference),
 * echoes a masked text frame, runs the close handshake, then meets three
 * refusals: a foreign Origin (403), a wrong path (404) and a missing
 * `sec-websocket-version` (426). The server side checks what socketry
 * reported: the socket's HTTP version, subprotocol, remote address (the
 * peer's own port: the same connection as the GET) and its close.
 *
 * Needs `node` (ignored without it unless SOCKETRY_REQUIRE_PEERS=1).
 * Deno's leak checks do not track node:http2 handles: the server is shut
 * down, the peer is awaited and the temporary CA file removed explicitly,
 * then `process.getActiveResourcesInfo()` must list no network handle.
 * A last test checks that a closed HTTP/2 socket's addresses stay readable.
 */

import assert from "node:assert/strict";
import { EngineSocket, type RequestInfo, serveEngine } from "../../mod.ts";
import { assertNoOpenHandles } from "../helpers/handles.ts";
import { withTimeout } from "../helpers/page.ts";
import { peerAvailable } from "../helpers/peers.ts";
import {
  hasNode,
  type PeerProcess,
  ROOT,
  startPeer,
} from "../helpers/processes.ts";
import { testCertificates } from "../helpers/tls.ts";

const script = `${ROOT}tests/interop/peers/h2_connect_client.mjs`;
const PEER_TIMEOUT = 25_000;

const runNode = peerAvailable("node", hasNode(), "apt-get install nodejs");

/** What one run of the Node peer left on both sides. */
interface Scenario {
  /** The peer's JSON results, minus `localPort`. */
  results: Record<string, unknown>;
  /** The server address of the peer's connection: `127.0.0.1:<its port>`. */
  peerAddress: string;
  /** The requests the handler got. */
  requests: { path: string; info: RequestInfo }[];
  /** The sockets `onSocket` got, each with what it showed at that moment. */
  sockets: {
    socket: EngineSocket;
    httpVersion: string;
    protocol: string;
    remoteAddress: string | undefined;
  }[];
}

/**
 * Serves an echo on `/ws` (HTTP/2 beside HTTP/1.1, over TLS or h2c), runs
 * the Node peer against it to its end, then hands what both sides saw to
 * `check`; always stops the peer and the server and removes the CA file.
 */
async function withNodePeer(
  tls: boolean,
  check: (scenario: Scenario) => Promise<void>,
): Promise<void> {
  const { ca, cert, key } = await testCertificates();
  const sockets: Scenario["sockets"] = [];
  const requests: Scenario["requests"] = [];
  const server = serveEngine(
    {
      port: 0,
      hostname: "127.0.0.1",
      path: "/ws",
      http2: true,
      protocols: ["chat", "v1"],
      allowedOrigins: ["https://allowed.example"],
      ...(tls ? { tls: { cert, key } } : {}),
    },
    (socket) => {
      // The engine listener hands out engine sockets.
      if (!(socket instanceof EngineSocket)) throw new Error("not an engine");
      sockets.push({
        socket,
        httpVersion: socket.httpVersion,
        protocol: socket.protocol,
        remoteAddress: socket.remoteAddress,
      });
      socket.addEventListener("message", ({ data }) => {
        socket.send(data).catch(() => {});
      });
    },
    (request, info) => {
      requests.push({ path: new URL(request.url).pathname, info });
      return new Response("page over h2\n");
    },
  );
  let caFile: string | undefined;
  let peer: PeerProcess | undefined;
  try {
    const { port } = await server.listening;
    const args = [script];
    if (tls) {
      caFile = await Deno.makeTempFile({ suffix: ".pem" });
      await Deno.writeTextFile(caFile, ca);
      args.push(`https://localhost:${port}`, caFile);
    } else args.push(`http://127.0.0.1:${port}`);
    const running = peer = startPeer("node", args);
    const { code } = await withTimeout(
      running.status,
      PEER_TIMEOUT,
      () => `the node peer did not finish:\n${running.output()}`,
    );
    await running.stop();
    assert.equal(code, 0, running.output());
    const results = JSON.parse(await running.lines.next(1000));
    const { localPort } = results;
    assert.ok(Number.isInteger(localPort), running.output());
    delete results.localPort;
    await check({
      results,
      peerAddress: `127.0.0.1:${localPort}`,
      requests,
      sockets,
    });
  } finally {
    await peer?.stop();
    await server.shutdown();
    if (caFile !== undefined) await Deno.remove(caFile);
  }
  // node:http2 sessions and servers escape Deno's sanitizers.
  await assertNoOpenHandles();
}

for (const transport of ["TLS", "h2c"] as const) {
  Deno.test({
    name:
      `HTTP/2 over ${transport}: Node's node:http2 opens, echoes and closes an extended CONNECT WebSocket; refusals are 403/404/426`,
    ignore: !runNode,
    fn: () =>
      withNodePeer(transport === "TLS", async (scenario) => {
        const { results, peerAddress, requests, sockets } = scenario;
        assert.deepEqual(results, {
          session: {
            alpnProtocol: transport === "TLS" ? "h2" : "h2c",
            enableConnectProtocol: true,
          },
          page: { status: 200, body: "page over h2\n" },
          // The server's preference (chat, v1) wins over the client's
          // order (v1, chat); RFC 8441 answers carry no accept key.
          websocket: { status: 200, protocol: "chat", accept: null },
          // Server frames are unmasked.
          echo: {
            fin: true,
            opcode: 1,
            masked: false,
            text: "héllo over HTTP/2 from node",
          },
          close: { opcode: 8, masked: false, code: 1000, reason: "node done" },
          // Both halves ended with END_STREAM, no RST_STREAM error.
          streamRstCode: 0,
          refusals: {
            origin: {
              status: 403,
              version: null,
              body:
                "Origin https://evil.example is not allowed to open a WebSocket\n",
            },
            path: { status: 404, version: null, body: "Not Found\n" },
            version: {
              status: 426,
              version: "13",
              body: "Missing Sec-WebSocket-Version: this server speaks 13\n",
            },
          },
        });

        // The server's view: one socket (refusals make none), over HTTP/2,
        // on the same TCP connection as the GET (the peer's own port).
        assert.deepEqual(requests, [
          { path: "/", info: { remoteAddress: peerAddress, httpVersion: "2" } },
        ]);
        assert.equal(sockets.length, 1);
        const [{ socket, ...shown }] = sockets as [Scenario["sockets"][0]];
        assert.deepEqual(shown, {
          httpVersion: "2",
          protocol: "chat",
          remoteAddress: peerAddress,
        });
        const closed = await withTimeout(
          socket.closed,
          5000,
          () => "the server socket did not close",
        );
        assert.deepEqual(
          { ...closed },
          {
            code: 1000,
            reason: "node done",
            wasClean: true,
            initiator: "remote",
            ending: "close",
          },
        );
        assert.equal(socket.stats.messagesReceived, 1);
        assert.equal(socket.stats.messagesSent, 1);
      }),
  });
}

Deno.test({
  // Regression: for an HTTP/2 stream the transport once read the addresses
  // through `stream.session.socket`, node:http2's proxy of the session's
  // socket, which throws ERR_HTTP2_SOCKET_UNBOUND ("The socket has been
  // disconnected from the Http2Session") once the session is gone (fixed in
  // a095b65: the transport keeps its addresses).
  name:
    "HTTP/2: a closed WebSocket's remoteAddress and localAddress stay readable after its connection ended",
  ignore: !runNode,
  fn: () =>
    withNodePeer(true, async ({ peerAddress, sockets }) => {
      const socket = sockets[0]!.socket;
      await withTimeout(socket.closed, 5000, () => "did not close");
      assert.equal(socket.remoteAddress, peerAddress);
      assert.match(socket.localAddress ?? "", /^127\.0\.0\.1:\d+$/);
    }),
});
