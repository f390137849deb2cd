// Node's `ws` client with permessage-deflate in each parameter variant,
// against the echo URL in argv[2]: prints one JSON line per variant with the
// negotiated extension and whether text, 1 MiB binary, repeated text and a
// fragmented message came back intact. Run by tests/interop/ws_deflate_test.ts.
import WebSocket from "ws";

const variants = [
  true,
  { serverNoContextTakeover: true },
  { clientNoContextTakeover: true },
  { serverMaxWindowBits: 10 },
  { clientMaxWindowBits: 9 },
  {
    serverMaxWindowBits: 8,
    clientMaxWindowBits: 8,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
  },
];
for (const perMessageDeflate of variants) {
  const ws = new WebSocket(process.argv[2], { perMessageDeflate });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const messages = [
    "hello",
    Buffer.alloc(1 << 20, 3),
    "héllo wörld ".repeat(5000),
    "héllo wörld ".repeat(5000),
  ];
  let intact = 0;
  for (const message of messages) {
    const echo = new Promise((resolve) =>
      ws.once(
        "message",
        (data, binary) => resolve(binary ? Buffer.from(data) : data.toString()),
      )
    );
    ws.send(message);
    const got = await echo;
    if (Buffer.isBuffer(message) ? message.equals(got) : got === message) {
      intact++;
    }
  }
  const fragmented = new Promise((resolve) =>
    ws.once("message", (data) => resolve(data.toString()))
  );
  ws.send("frag-", { fin: false });
  ws.send("mented", { fin: true });
  const joined = await fragmented;
  const closed = new Promise((resolve) =>
    ws.once("close", (code) => resolve(code))
  );
  ws.close(1000);
  console.log(
    JSON.stringify({
      variant: perMessageDeflate,
      extensions: ws.extensions,
      intact,
      joined,
      close: await closed,
    }),
  );
}
