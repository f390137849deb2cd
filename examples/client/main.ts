/**
 * A command-line WebSocket client in the manner of `wscat`: connects to a
 * URL, sends each line of standard input as a text message, prints every
 * message received, and reports the connection, the close and statistics.
 *
 *     deno run --allow-net [--allow-read] examples/client/main.ts URL
 *         [--header "Name: value"]... [--subprotocol NAME]... [--compression]
 *         [--keepalive SECONDS] [--proxy http://HOST:PORT] [--ca FILE | --insecure]
 *
 * `--proxy` tunnels through an HTTP proxy with CONNECT (user and password
 * may go in the proxy URL); `--ca` trusts a PEM certificate for `wss://`
 * besides the system's; `--insecure` accepts any server certificate (local
 * testing only: anyone on the path could read and change the traffic).
 *
 * At the end of standard input it waits for the replies (until as many
 * messages came back as were sent, or 2 s of quiet), closes with 1000 and
 * exits 0. A failed connection prints its status and exits 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect, type ConnectOptions, getStatus } from "../../mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    header: { type: "string", multiple: true, short: "H" },
    subprotocol: { type: "string", multiple: true, short: "s" },
    compression: { type: "boolean", default: false },
    keepalive: { type: "string" },
    ca: { type: "string" },
    insecure: { type: "boolean", default: false },
    proxy: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const usage =
  "Usage: deno run --allow-net examples/client/main.ts URL [--header 'Name: value']... [--subprotocol NAME]... [--compression] [--keepalive SECONDS] [--proxy http://HOST:PORT] [--ca FILE | --insecure]";
if (values.help || positionals.length !== 1) {
  console.log(usage);
  Deno.exit(values.help ? 0 : 2);
}
const url = positionals[0]!;

const headers = new Headers();
for (const header of values.header ?? []) {
  const colon = header.indexOf(":");
  if (colon <= 0) {
    console.error(
      `--header must look like "Name: value", got ${JSON.stringify(header)}`,
    );
    Deno.exit(2);
  }
  headers.append(header.slice(0, colon).trim(), header.slice(colon + 1).trim());
}
const options: ConnectOptions = {
  headers,
  protocols: values.subprotocol ?? [],
  deflate: values.compression,
};
if (values.keepalive !== undefined) {
  const seconds = Number(values.keepalive);
  if (!(seconds >= 0)) {
    console.error(
      `--keepalive must be a number of seconds, got ${values.keepalive}`,
    );
    Deno.exit(2);
  }
  // A PING every interval of silence; no PONG within another interval ends it.
  options.keepAliveInterval = seconds * 1000;
  options.keepAliveTimeout = seconds * 1000;
}
if (values.ca !== undefined) {
  options.caCerts = [await Deno.readTextFile(values.ca)];
}
if (values.insecure) options.dangerouslyIgnoreCertificateErrors = true;
if (values.proxy !== undefined) options.proxy = values.proxy;

let socket;
try {
  socket = await connect(url, options);
} catch (error) {
  console.error(
    `Cannot connect (${getStatus(error)}): ${(error as Error).message}`,
  );
  Deno.exit(error instanceof TypeError || error instanceof RangeError ? 2 : 1);
}
console.error(
  `Connected to ${url}` +
    (socket.protocol ? `, subprotocol ${socket.protocol}` : "") +
    (socket.extensions ? `, extensions ${socket.extensions}` : "") +
    " (type lines to send; end input to close)",
);

// Message events, not `for await`: an interactive session may stay quiet
// for longer than the client's 30 s receive timeout.
let lastMessageAt = Date.now();
socket.addEventListener("message", ({ data }) => {
  lastMessageAt = Date.now();
  console.log(
    typeof data === "string"
      ? `< ${data}`
      : `< [${data.byteLength} bytes binary]`,
  );
});

const lines = Deno.stdin.readable
  .pipeThrough(new TextDecoderStream())
  .pipeThrough(splitLines());
for await (const line of lines) {
  if (socket.state !== "open") break;
  await socket.send(line);
}

// End of input: wait for the replies, then close cleanly.
while (
  socket.state === "open" &&
  socket.stats.messagesReceived < socket.stats.messagesSent &&
  Date.now() - lastMessageAt < 2000
) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const closed = socket.state === "open"
  ? await socket.close(1000, "client done")
  : await socket.closed;
const stats = socket.stats;
console.error(
  `Closed: ${closed.ending} ${closed.code}${
    closed.reason ? ` "${closed.reason}"` : ""
  }` +
    ` (${
      closed.wasClean ? "clean" : "not clean"
    }, initiated by ${closed.initiator})`,
);
console.error(
  `Sent ${stats.messagesSent} message(s), ${stats.bytesSent} bytes; ` +
    `received ${stats.messagesReceived} message(s), ${stats.bytesReceived} bytes`,
);
Deno.exit(closed.ending === "close" ? 0 : 1);

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split(/\r?\n/);
      rest = parts.pop() ?? "";
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}
