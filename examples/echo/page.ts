/**
 * The echo sample's web page: connection state, Connect, a message
 * box with Send, Close Socket, and a Communication Log of every open, send,
 * receive, drop, reconnect and close. Plain HTML and a small module that
 * uses socketry's browser client from `/socketry.js`, so the page
 * reconnects after a drop and queues what is sent meanwhile. Numeric client
 * options may be set in the query string (`/?heartbeatInterval=1000`).
 *
 * @module
 */

/** The page served at `/`. */
export const ECHO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>socketry echo</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 52rem; color: #1d2330; }
  h1 { font-size: 1.4rem; }
  .row { display: flex; gap: .5rem; align-items: center; margin: .6rem 0; }
  label { min-width: 8rem; }
  input[type=text] { flex: 1; padding: .35rem; font: inherit; }
  button { padding: .35rem .9rem; font: inherit; cursor: pointer; }
  button:disabled { cursor: default; opacity: .5; }
  #state { font-weight: 600; }
  .open { color: #0a7a2f; } .closed { color: #a3262a; } .pending { color: #9a6700; }
  table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
  th, td { border: 1px solid #ccd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  td.data { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
  th { background: #eef0f6; }
</style>
</head>
<body>
<h1>socketry WebSocket echo</h1>
<p>Ready state: <span id="state" class="closed">Not connected</span></p>
<div class="row">
  <label for="url">Server URL</label>
  <input id="url" type="text">
  <button id="connect">Connect</button>
</div>
<div class="row">
  <label for="message">Message to send</label>
  <input id="message" type="text" value="Hello, socketry!" disabled>
  <button id="send" disabled>Send</button>
  <button id="close" disabled>Close Socket</button>
</div>
<h2>Communication Log</h2>
<table>
  <thead><tr><th>From</th><th>To</th><th>Data</th></tr></thead>
  <tbody id="log"></tbody>
</table>
<script type="module">
  import { ReconnectingSocket } from "/socketry.js";

  const $ = (id) => document.getElementById(id);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  $("url").value = scheme + "//" + location.host + "/ws";
  // Numeric options of the client may be given in the page's query string,
  // such as ?heartbeatInterval=1000&heartbeatTimeout=500.
  const options = {};
  for (const [name, value] of new URLSearchParams(location.search)) {
    if (/^(min|max|connect|heartbeat)[A-Za-z]*$/.test(name)) options[name] = Number(value);
  }
  let socket = null;

  function log(from, to, data) {
    const row = document.createElement("tr");
    for (const text of [from, to, data]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    row.lastChild.className = "data";
    $("log").append(row);
  }

  function update() {
    const names = { connecting: "Connecting", open: "Open", reconnecting: "Reconnecting", closed: "Closed" };
    const state = socket === null ? "Not connected" : names[socket.state];
    $("state").textContent = state;
    $("state").className = state === "Open" ? "open" : state === "Connecting" || state === "Reconnecting" ? "pending" : "closed";
    // While reconnecting, messages wait in the client's queue.
    const live = socket !== null && socket.state !== "closed";
    $("message").disabled = !live;
    $("send").disabled = !live;
    $("close").disabled = !live;
    $("connect").disabled = live;
    $("url").disabled = live;
  }

  $("connect").onclick = () => {
    const url = $("url").value;
    log("Client", "Server", "Connecting to " + url);
    try {
      socket = new ReconnectingSocket(url, options);
    } catch (error) {
      log("Client", "Server", "Not connected: " + error.message);
      return;
    }
    window.echoSocket = socket;
    socket.addEventListener("connecting", ({ attempt }) => {
      if (attempt > 0) log("Client", "Server", "Connecting to " + url + " (attempt " + attempt + ")");
      update();
    });
    socket.addEventListener("open", () => { log("Server", "Client", "Connection opened"); update(); });
    socket.addEventListener("message", (event) => log("Server", "Client", "Received: " + event.data));
    socket.addEventListener("reconnecting", ({ attempt, delay, code, reason }) => {
      log("Server", "Client", "Connection lost (" + code + (reason ? ", " + reason : "") + "); reconnecting in " + delay + " ms (attempt " + attempt + ")");
      update();
    });
    socket.addEventListener("closed", (event) => {
      log("Server", "Client", "Connection closed. Code: " + event.code + ", Reason: " + (event.reason || "(none)") + (event.wasClean ? "" : " (not clean)"));
      update();
    });
    update();
  };

  $("send").onclick = () => {
    const data = $("message").value;
    try {
      const outcome = socket.send(data);
      log("Client", "Server", outcome === "sent" ? "Sent: " + data : "Queued: " + data + " (sent once connected)");
    } catch (error) {
      log("Client", "Client", "Not sent: " + error.message);
    }
  };
  $("message").onkeydown = (event) => { if (event.key === "Enter") $("send").click(); };

  $("close").onclick = () => {
    log("Client", "Server", "Closing the socket (1000, Closing from client)");
    socket.close(1000, "Closing from client");
    update();
  };
  update();
</script>
</body>
</html>
`;
