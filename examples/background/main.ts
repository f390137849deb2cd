/**
 * The background processor pattern: the request handler hands each
 * socket to a long-lived `SocketProcessor` and awaits its completion; a
 * background clock broadcasts the time to every socket; each socket's own
 * work answers its messages; every completion is logged with how it ended.
 *
 *     deno run --allow-net examples/background/main.ts [--port 8081]
 *
 * Try it with a browser console: `ws = new WebSocket("ws://localhost:8081/ws")`,
 * `ws.onmessage = (e) => console.log(e.data)`, `ws.send("hello")`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SocketProcessor, webSockets } from "../../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8081" },
    hostname: { type: "string", default: "0.0.0.0" },
  },
});

let connections = 0;
const processor = new SocketProcessor({
  // Each socket's own work: answer every message, then return when it ends.
  // The answers go from a message listener, which runs as each message
  // arrives: Deno's socket answers a close frame as soon as it reads it, so
  // a reply sent later (from a for-await loop) to a client that closed right
  // after its last message would be lost.
  onSocket: (socket, processor) => {
    processor.join(socket, "clock");
    socket.send(`welcome: ${processor.size} socket(s) connected`).catch(
      () => {},
    );
    socket.addEventListener("message", ({ data }) => {
      const text = typeof data === "string" ? data : `${data.byteLength} bytes`;
      socket.send(`you said: ${text}`).catch(() => socket.abort());
    });
    return socket.closed;
  },
});

// The background service: one timer for all sockets.
const clock = setInterval(() => {
  if (processor.size === 0) return;
  processor.sendToGroup("clock", `time: ${new Date().toISOString()}`);
}, 1000);

const server = Deno.serve(
  {
    port: Number(values.port),
    hostname: values.hostname,
    onListen({ port }) {
      console.log(`Listening on http://localhost:${port}/ (WebSocket at /ws)`);
    },
  },
  webSockets({ path: "/ws" }, async (socket, request) => {
    const id = ++connections;
    const from = request.headers.get("user-agent") ?? "unknown client";
    console.log(`#${id} accepted (${from})`);
    // The completion promise: settled once the processor is done with the socket.
    const { closed, error } = await processor.add(socket);
    const stats = socket.stats;
    console.log(
      `#${id} completed: ${closed.ending} ${closed.code} ${closed.reason}` +
        ` (${stats.messagesReceived} in, ${stats.messagesSent} out)` +
        (error === undefined ? "" : `, work failed: ${error}`),
    );
  }),
);

async function stop(signal: string): Promise<void> {
  console.log(`${signal}: shutting down ${processor.size} socket(s)`);
  clearInterval(clock);
  await processor.shutdown({ reason: "Server restarting" });
  await server.shutdown();
  console.log("Shut down");
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stop(signal));
}
