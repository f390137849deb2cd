// A Node.js `ws` echo server for socketry's client: listens on an ephemeral
// loopback port and prints `{"port": N}`, echoes every message with its type,
// answers pings (ws does), selects the first offered subprotocol it knows, and
// prints `{"close": {code, reason}}` for each close frame it receives (ws
// answers it with the same code and reason). On the text message
// "close me" it closes first with 4001 "ws server bye". Run by
// tests/client/connect_test.ts.
import { WebSocketServer } from "ws";

const known = ["chat", "v1"];
const server = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  // `deflate` as argv[2] turns permessage-deflate on (JSON options or "true").
  perMessageDeflate: process.argv[2] ? JSON.parse(process.argv[2]) : false,
  handleProtocols: (offered) => known.find((p) => offered.has(p)) ?? false,
});
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

server.on("connection", (ws) => {
  print({ open: { protocol: ws.protocol } });
  ws.on("message", (data, isBinary) => {
    if (!isBinary && data.toString() === "close me") {
      ws.close(4001, "ws server bye");
    } else ws.send(data, { binary: isBinary });
  });
  ws.on("close", (code, reason) => {
    print({ close: { code, reason: reason.toString() } });
  });
});
server.on("listening", () => print({ port: server.address().port }));
