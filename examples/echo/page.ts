/**
 * The echo sample's web page (SPEC S4): connection state, Connect, a message
 * box with Send, Close Socket, and a Communication Log of every open, send,
 * receive and close. Plain HTML and a small script, no build step.
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
<script>
  const $ = (id) => document.getElementById(id);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  $("url").value = scheme + "//" + location.host + "/ws";
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
    const names = ["Connecting", "Open", "Closing", "Closed"];
    const state = socket === null ? "Not connected" : names[socket.readyState];
    $("state").textContent = state;
    $("state").className = state === "Open" ? "open" : state === "Connecting" || state === "Closing" ? "pending" : "closed";
    const open = socket !== null && socket.readyState === WebSocket.OPEN;
    $("message").disabled = !open;
    $("send").disabled = !open;
    $("close").disabled = !open;
    $("connect").disabled = open || (socket !== null && socket.readyState === WebSocket.CONNECTING);
    $("url").disabled = $("connect").disabled;
  }

  $("connect").onclick = () => {
    const url = $("url").value;
    log("Client", "Server", "Connecting to " + url);
    try {
      socket = new WebSocket(url);
    } catch (error) {
      log("Client", "Client", "Cannot connect: " + error.message);
      return;
    }
    update();
    socket.onopen = () => { log("Server", "Client", "Connection opened"); update(); };
    socket.onmessage = (event) => log("Server", "Client", "Received: " + event.data);
    socket.onerror = () => { log("Server", "Client", "Error: the connection failed"); update(); };
    socket.onclose = (event) => {
      log("Server", "Client", "Connection closed. Code: " + event.code + ", Reason: " + (event.reason || "(none)") + (event.wasClean ? "" : " (not clean)"));
      update();
    };
  };

  $("send").onclick = () => {
    const data = $("message").value;
    socket.send(data);
    log("Client", "Server", "Sent: " + data);
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
