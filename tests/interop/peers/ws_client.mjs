// A scripted Node.js `ws` client: runs each step against the URL in argv[2]
// and prints one JSON line of results. Run by tests/interop/ws_client_test.ts.
import WebSocket from "ws";

const url = process.argv[2];
const results = {};
const ws = new WebSocket(url, ["v1", "chat"]);
const inbox = [];
let waiting;
ws.on("message", (data, isBinary) => {
  const message = { binary: isBinary, data: Buffer.from(data) };
  if (waiting) {
    const resolve = waiting;
    waiting = undefined;
    resolve(message);
  } else inbox.push(message);
});
const next = () =>
  inbox.length > 0
    ? Promise.resolve(inbox.shift())
    : new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("no message in 5 s")),
        5000,
      );
      waiting = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });

try {
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  results.protocol = ws.protocol;

  ws.send("hello");
  const text = await next();
  results.text = { binary: text.binary, data: text.data.toString() };

  ws.send(Buffer.from([1, 2, 3]));
  const binary = await next();
  results.binary = { binary: binary.binary, data: [...binary.data] };

  ws.send("frag", { fin: false });
  ws.send("ment", { fin: true });
  const fragmented = await next();
  results.fragmented = fragmented.data.toString();

  const big = Buffer.alloc(100 * 1024, 7);
  ws.send(big);
  const bigEcho = await next();
  results.big = bigEcho.data.equals(big);

  const pong = new Promise((resolve) =>
    ws.once("pong", (data) => resolve(data.toString()))
  );
  ws.ping("are you there");
  results.pong = await pong;

  const closed = new Promise((resolve) =>
    ws.once(
      "close",
      (code, reason) => resolve({ code, reason: reason.toString() }),
    )
  );
  ws.close(4000, "node done");
  results.close = await closed;
} catch (error) {
  results.error = String(error);
  ws.terminate();
}
console.log(JSON.stringify(results));
