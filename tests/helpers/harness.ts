/**
 * Backends under test. The `Socket` contract suite runs unchanged against
 * every harness listed in `HARNESSES`.
 */

import {
  serveEngine,
  type Socket,
  webSockets,
  type WebSocketServerOptions,
} from "../../mod.ts";

/** A running test server. */
export interface TestServer {
  /** `ws://127.0.0.1:PORT/ws` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts servers of one backend. */
export interface Harness {
  readonly name: string;
  serve(
    options: WebSocketServerOptions,
    onSocket: (socket: Socket, request: Request) => unknown,
  ): Promise<TestServer>;
}

/** The native backend: `Deno.serve` + `Deno.upgradeWebSocket`. */
export const nativeHarness: Harness = {
  name: "native",
  serve(options, onSocket) {
    const { promise, resolve } = Promise.withResolvers<TestServer>();
    const server = Deno.serve({
      port: 0,
      hostname: "127.0.0.1",
      onListen({ port }) {
        resolve({
          url: `ws://127.0.0.1:${port}/ws`,
          port,
          close: () => server.shutdown(),
        });
      },
    }, webSockets({ path: "/ws", ...options }, onSocket));
    return promise;
  },
};

/** The engine backend: socketry's own RFC 6455 on the `node:http` listener. */
export const engineHarness: Harness = {
  name: "engine",
  async serve(options, onSocket) {
    const server = serveEngine(
      { port: 0, hostname: "127.0.0.1", path: "/ws", ...options },
      onSocket,
    );
    const { port } = await server.listening;
    return {
      url: `ws://127.0.0.1:${port}/ws`,
      port,
      close: () => server.shutdown(),
    };
  },
};

/** The engine with permessage-deflate accepted. */
export const deflateEngineHarness: Harness = {
  name: "engine+deflate",
  serve: (options, onSocket) =>
    engineHarness.serve(
      {
        ...options,
        dangerouslyEnableCompression: true,
      } as WebSocketServerOptions,
      onSocket,
    ),
};

export const HARNESSES: readonly Harness[] = [nativeHarness, engineHarness];
