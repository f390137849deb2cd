// A scripted RFC 8441 client on Node's own node:http2, run by `node` from
// tests/interop/http2_node_test.ts:
//
//     node h2_connect_client.mjs BASE_URL [CA_FILE]
//
// BASE_URL is https://localhost:PORT (TLS, the CA in CA_FILE is trusted) or
// http://127.0.0.1:PORT (h2c with prior knowledge). On ONE HTTP/2 session it
// reads the server's SETTINGS, GETs /, opens an extended CONNECT to /ws
// (offering "v1, chat"), writes a masked text frame and reads the echo,
// closes with a close frame and reads the reply, then tries three refused
// handshakes (a foreign Origin, a wrong path, no sec-websocket-version). It
// prints one JSON line with everything it saw and exits 0; on any failure it
// prints {"error": ...} and exits 1. Frames are built and parsed here, by
// hand: no WebSocket library is involved.

import { readFileSync } from "node:fs";
import { connect } from "node:http2";

const [base, caFile] = process.argv.slice(2);
if (base === undefined) {
  console.error("usage: node h2_connect_client.mjs BASE_URL [CA_FILE]");
  process.exit(2);
}
const url = new URL(base);
const STEP_TIMEOUT = 5000;
// The whole run is bounded, whatever the server does.
const watchdog = setTimeout(() => {
  console.log(JSON.stringify({ error: "the client did not finish in 20 s" }));
  process.exit(1);
}, 20_000);

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: nothing within ${STEP_TIMEOUT} ms`)),
        STEP_TIMEOUT,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A client frame: FIN set, masked with a random key (RFC 6455 5.3). */
function maskedFrame(opcode, payload) {
  const length = payload.length;
  const head = length < 126 ? 2 : 4;
  const frame = Buffer.alloc(head + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  }
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(4)));
  key.copy(frame, head);
  for (let i = 0; i < length; i++) {
    frame[head + 4 + i] = payload[i] ^ key[i % 4];
  }
  return frame;
}

/** Reads whole frames from a stream's bytes. */
function frameReader(stream) {
  let buffered = Buffer.alloc(0);
  let waiting;
  let ended = false;
  stream.on("data", (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiting?.();
  });
  stream.on("end", () => {
    ended = true;
    waiting?.();
  });
  function parse() {
    if (buffered.length < 2) return undefined;
    const fin = (buffered[0] & 0x80) !== 0;
    const opcode = buffered[0] & 0x0f;
    const masked = (buffered[1] & 0x80) !== 0;
    let length = buffered[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffered.length < 4) return undefined;
      length = buffered.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffered.length < 10) return undefined;
      length = Number(buffered.readBigUInt64BE(2));
      offset = 10;
    }
    if (masked) offset += 4;
    if (buffered.length < offset + length) return undefined;
    let payload = buffered.subarray(offset, offset + length);
    if (masked) {
      const key = buffered.subarray(offset - 4, offset);
      payload = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]));
    }
    buffered = buffered.subarray(offset + length);
    return { fin, opcode, masked, payload: Buffer.from(payload) };
  }
  return {
    next(what) {
      return withTimeout(
        new Promise((resolve, reject) => {
          const attempt = () => {
            const frame = parse();
            if (frame !== undefined) {
              waiting = undefined;
              resolve(frame);
            } else if (ended) {
              waiting = undefined;
              reject(new Error(`${what}: the stream ended first`));
            }
          };
          waiting = attempt;
          attempt();
        }),
        what,
      );
    },
  };
}

/** Sends a request; resolves with its response headers once they arrive. */
function request(session, headers) {
  const stream = session.request(headers, { endStream: false });
  // Deno may fire 'response', 'end' and 'close' before an await resumes:
  // every listener is added now.
  const ended = new Promise((resolve) => stream.once("end", resolve));
  const closed = new Promise((resolve) =>
    stream.once("close", () => resolve(stream.rstCode))
  );
  const response = withTimeout(
    new Promise((resolve, reject) => {
      stream.once("response", (fields) => resolve({ ...fields }));
      stream.once("error", reject);
    }),
    `${headers[":method"]} ${headers[":path"]}`,
  );
  return { stream, response, ended, closed };
}

/** Reads a response body to its end as text. */
async function bodyText(exchange) {
  const chunks = [];
  exchange.stream.on("data", (chunk) => chunks.push(chunk));
  await withTimeout(exchange.ended, "the response body");
  return Buffer.concat(chunks).toString("utf8");
}

const authority = url.host;
const scheme = url.protocol === "https:" ? "https" : "http";
const connectHeaders = (path, extra) => ({
  ":method": "CONNECT",
  ":protocol": "websocket",
  ":scheme": scheme,
  ":path": path,
  ":authority": authority,
  ...extra,
});

const results = {};
let session;
try {
  session = connect(
    base,
    caFile === undefined ? {} : { ca: readFileSync(caFile) },
  );
  session.on("error", () => {});
  await withTimeout(
    new Promise((resolve, reject) => {
      session.once("remoteSettings", resolve);
      session.once("error", reject);
    }),
    "the server's SETTINGS",
  );
  results.session = {
    alpnProtocol: session.alpnProtocol,
    enableConnectProtocol: session.remoteSettings.enableConnectProtocol,
  };
  // The server reports the client's address: this is the port it sees.
  results.localPort = session.socket.localPort;

  // An ordinary request, to the fetch-style handler.
  const page = request(session, {
    ":method": "GET",
    ":path": "/",
    ":scheme": scheme,
    ":authority": authority,
  });
  page.stream.end();
  const pageHead = await page.response;
  results.page = {
    status: pageHead[":status"],
    body: await bodyText(page),
  };

  // The WebSocket: extended CONNECT, echo, close handshake.
  const ws = request(
    session,
    connectHeaders("/ws", {
      "sec-websocket-version": "13",
      "sec-websocket-protocol": "v1, chat",
      origin: "https://allowed.example",
    }),
  );
  const frames = frameReader(ws.stream);
  const head = await ws.response;
  results.websocket = {
    status: head[":status"],
    protocol: head["sec-websocket-protocol"],
    // No HTTP/1.1 handshake fields belong in an RFC 8441 answer.
    accept: head["sec-websocket-accept"] ?? null,
  };
  const text = "héllo over HTTP/2 from node";
  ws.stream.write(maskedFrame(0x1, Buffer.from(text)));
  const echo = await frames.next("the echo");
  results.echo = {
    fin: echo.fin,
    opcode: echo.opcode,
    masked: echo.masked,
    text: echo.payload.toString("utf8"),
  };
  const close = Buffer.alloc(2 + "node done".length);
  close.writeUInt16BE(1000, 0);
  close.write("node done", 2);
  ws.stream.write(maskedFrame(0x8, close));
  const reply = await frames.next("the close reply");
  results.close = {
    opcode: reply.opcode,
    masked: reply.masked,
    code: reply.payload.length >= 2 ? reply.payload.readUInt16BE(0) : null,
    reason: reply.payload.subarray(2).toString("utf8"),
  };
  // The server ends its half after its close frame; we end ours.
  ws.stream.end();
  await withTimeout(ws.ended, "the server's END_STREAM");
  results.streamRstCode = await withTimeout(ws.closed, "the stream's close");

  // Refusals over HTTP/2: each is an ordinary response on its stream.
  const refusals = {
    origin: connectHeaders("/ws", {
      "sec-websocket-version": "13",
      origin: "https://evil.example",
    }),
    path: connectHeaders("/elsewhere", { "sec-websocket-version": "13" }),
    version: connectHeaders("/ws", {}),
  };
  results.refusals = {};
  for (const [name, headers] of Object.entries(refusals)) {
    const exchange = request(session, headers);
    const refused = await exchange.response;
    results.refusals[name] = {
      status: refused[":status"],
      version: refused["sec-websocket-version"] ?? null,
      body: await bodyText(exchange),
    };
    exchange.stream.end();
    await withTimeout(exchange.closed, `the ${name} refusal's close`);
  }

  await withTimeout(
    new Promise((resolve) => session.close(resolve)),
    "closing the session",
  );
  clearTimeout(watchdog);
  console.log(JSON.stringify(results));
} catch (error) {
  console.log(
    JSON.stringify({ error: String(error?.stack ?? error), results }),
  );
  session?.destroy();
  process.exit(1);
}
