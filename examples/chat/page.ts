/**
 * The chat sample's web page: a room, its connection state and member count,
 * a message box, the messages of the room, and a live plot of the room's
 * deliveries per second over the last 60 s. Plain HTML and a small module,
 * no build step and nothing fetched from elsewhere.
 *
 * Everything the page knows about the network is in `openSocket()`, which
 * uses socketry's browser client from `/socketry.js`: it reconnects with
 * backoff and jitter when the connection drops, notices a dead line with
 * heartbeats, queues what is sent while reconnecting, and reports the
 * states shown in `#status`.
 *
 * @module
 */

/** The page served at `/`. */
export const CHAT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>socketry chat</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 52rem; color: #1d2330; }
  h1 { font-size: 1.4rem; }
  .row { display: flex; gap: .5rem; align-items: center; margin: .6rem 0; }
  input[type=text] { flex: 1; padding: .35rem; font: inherit; }
  button { padding: .35rem .9rem; font: inherit; cursor: pointer; }
  #status { font-weight: 600; }
  #status.open { color: #0a7a2f; } #status.closed { color: #a3262a; }
  #status.connecting, #status.reconnecting { color: #9a6700; }
  #log { border: 1px solid #ccd; height: 18rem; overflow-y: auto; padding: .3rem .5rem;
    font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
  #plot { border: 1px solid #ccd; width: 100%; height: 120px; }
</style>
</head>
<body>
<h1>socketry chat</h1>
<div class="row">
  <label for="room">Room</label>
  <input id="room" type="text" value="lobby" maxlength="64">
  <button id="connect">Connect</button>
</div>
<p>Status: <span id="status" class="closed">closed</span> &middot;
  Members: <span id="members">0</span> &middot;
  Deliveries/s: <span id="rate">0</span></p>
<div class="row">
  <label for="message">Message</label>
  <input id="message" type="text" value="Hello, room!">
  <button id="send">Send</button>
</div>
<div id="log"></div>
<p>Deliveries per second in this room, last 60 s:</p>
<canvas id="plot" width="800" height="120"></canvas>
<script type="module">
  import { ReconnectingSocket } from "/socketry.js";

  const $ = (id) => document.getElementById(id);
  const decoder = new TextDecoder();
  const history = [];
  let socket = null;

  function setStatus(state) {
    $("status").textContent = state;
    $("status").className = state;
  }

  // Opens a socket that reconnects until close() is called: socketry's
  // browser client (/socketry.js), with heartbeats and a queue for what is
  // sent while reconnecting. on.status gets "connecting", "open",
  // "reconnecting" and "closed", on.message each message.
  function openSocket(url, on) {
    const socket = new ReconnectingSocket(url);
    let current = true; // Until close(): a closed socket's late events are not shown.
    const show = () => { if (current) on.status(socket.state); };
    for (const type of ["connecting", "open", "reconnecting", "closed"]) {
      socket.addEventListener(type, show);
    }
    socket.addEventListener("message", (event) => { if (current) on.message(event.data); });
    show();
    return {
      send: (data) => socket.send(data),
      close() {
        current = false;
        socket.close(1000, "Leaving the room");
        on.status("closed");
      },
    };
  }

  function received(data) {
    const text = typeof data === "string" ? data : decoder.decode(data);
    // Statistics start with NUL; a chat text that did gets one more NUL.
    if (text.startsWith("\\u0000") && !text.startsWith("\\u0000\\u0000")) {
      stats(JSON.parse(text.slice(1)));
      return;
    }
    const line = document.createElement("div");
    line.textContent = text.startsWith("\\u0000") ? text.slice(1) : text;
    const log = $("log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(line);
    if (log.childElementCount > 10000) log.firstElementChild.remove();
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function stats(update) {
    $("members").textContent = String(update.members);
    if (update.history !== undefined) history.splice(0, history.length, ...update.history);
    if (update.deliveries !== undefined) {
      if (update.history === undefined) history.push(update.deliveries);
      while (history.length > 60) history.shift();
      $("rate").textContent = String(update.deliveries);
      draw();
    }
  }

  function draw() {
    const canvas = $("plot");
    const g = canvas.getContext("2d");
    const { width, height } = canvas;
    g.clearRect(0, 0, width, height);
    const top = Math.max(10, ...history);
    g.fillStyle = "#667";
    g.font = "12px system-ui, sans-serif";
    g.fillText(top + "/s", 4, 12);
    g.strokeStyle = "#2a5bd7";
    g.lineWidth = 2;
    g.beginPath();
    history.forEach((value, i) => {
      const x = width - (history.length - 1 - i) * (width / 59);
      const y = height - 2 - (value / top) * (height - 18);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }

  $("connect").onclick = () => {
    socket?.close();
    history.length = 0;
    draw();
    $("log").replaceChildren();
    $("members").textContent = "0";
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const room = encodeURIComponent($("room").value);
    const token = new URLSearchParams(location.search).get("token");
    const url = scheme + "//" + location.host + "/ws?room=" + room + "&stats=1" +
      (token === null ? "" : "&token=" + encodeURIComponent(token));
    socket = openSocket(url, { status: setStatus, message: received });
  };
  $("send").onclick = () => {
    try {
      socket?.send($("message").value);
    } catch {
      // Not connected: the status says so.
    }
  };
  $("message").onkeydown = (event) => { if (event.key === "Enter") $("send").click(); };
  draw();
</script>
</body>
</html>
`;
