/**
 * The server under test: `serveEngine` running the echo of
 * `examples/echo/main.ts` in-process (message events → `socket.send(data)`,
 * through a `SocketProcessor`, with the example's options), and
 * {@linkcode conformance}, which runs one case against a fresh server and a
 * fresh {@linkcode Peer} and tears both down, so that every case stands alone
 * under the test sanitizers.
 *
 * @module
 */

import {
  type EngineServerOptions,
  serveEngine,
  type Socket,
  type SocketClosed,
  SocketProcessor,
} from "../../mod.ts";
import { type ConnectOptions, Peer } from "./peer.ts";

/** The options `examples/echo/main.ts` gives the engine listener. */
export const ECHO_OPTIONS = {
  path: "/ws",
  maxMessageSize: 64 * 1024 * 1024,
  heartbeat: true,
} as const;

/** A running in-process echo server. */
export interface EchoServer {
  readonly port: number;
  /** The server sides of the connections, in order of arrival. */
  readonly sockets: readonly Socket[];
  /** How the server sides ended, in order of ending. */
  readonly outcomes: readonly SocketClosed[];
  /** Shuts down like the example: processor (1001), then the listener. */
  close(): Promise<void>;
}

/** Starts the echo on `127.0.0.1`, on a free port. */
export async function startEchoServer(
  options: Partial<EngineServerOptions> = {},
): Promise<EchoServer> {
  const sockets: Socket[] = [];
  const outcomes: SocketClosed[] = [];
  // The same echo as examples/echo/main.ts.
  const processor = new SocketProcessor({
    onSocket: (socket) => {
      socket.addEventListener("message", ({ data }) => {
        socket.send(data).catch(() => socket.close(1008, "Echo failed"));
      });
      return socket.closed;
    },
  });
  const server = serveEngine(
    { ...ECHO_OPTIONS, port: 0, hostname: "127.0.0.1", ...options },
    (socket) => {
      sockets.push(socket);
      socket.closed.then((outcome) => outcomes.push(outcome));
      return processor.add(socket);
    },
  );
  const { port } = await server.listening;
  let closing: Promise<void> | undefined;
  return {
    port,
    sockets,
    outcomes,
    close: () =>
      closing ??= (async () => {
        await processor.shutdown({ timeout: 2000 });
        await server.shutdown();
        await Promise.all(sockets.map((socket) => socket.closed));
      })(),
  };
}

/** Options of one conformance case. */
export interface CaseOptions {
  /** Options for the listener, over the example's. */
  server?: Partial<EngineServerOptions>;
  /** Options for the peer's handshake. */
  connect?: Partial<ConnectOptions>;
}

/**
 * Registers one case: a fresh echo server, a connected peer, `fn`, then
 * teardown (peer first, then server), whatever happened.
 */
export function conformance(
  name: string,
  fn: (peer: Peer, server: EchoServer) => Promise<void>,
  options: CaseOptions = {},
): void {
  Deno.test({
    name,
    async fn() {
      const server = await startEchoServer(options.server);
      let peer: Peer | undefined;
      try {
        peer = await Peer.connect({ port: server.port, ...options.connect });
        await fn(peer, server);
      } finally {
        await peer?.dispose();
        await server.close();
      }
    },
  });
}
