/**
 * The reconnecting socket's rules under controlled time, with a scripted
 * WebSocket: backoff and jitter, connect timeout, minimum uptime,
 * maxRetries, final close codes, the URL function, the offline queue,
 * heartbeats, online/offline, events, iteration and close.
 */

import assert from "node:assert/strict";
import {
  type ClosedEvent,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  ReconnectingSocket,
  type ReconnectingSocketOptions,
  WebSocketError,
} from "../../lib/browser/mod.ts";
import { FakeWebSocket, ManualClock, sequence, settle } from "./fakes.ts";

interface Harness {
  socket: ReconnectingSocket;
  clock: ManualClock;
  events: string[];
  closed: ClosedEvent[];
}

function start(
  options: ReconnectingSocketOptions = {},
  url: ConstructorParameters<typeof ReconnectingSocket>[0] = "ws://test/ws",
): Harness {
  FakeWebSocket.made = [];
  const clock = new ManualClock();
  const events: string[] = [];
  const closed: ClosedEvent[] = [];
  const socket = new ReconnectingSocket(url, {
    WebSocket: FakeWebSocket as unknown as typeof WebSocket,
    clock,
    random: () => 0.5,
    heartbeatInterval: 0,
    ...options,
  });
  socket.addEventListener(
    "connecting",
    (e) => events.push(`connecting ${e.attempt}`),
  );
  socket.addEventListener("open", () => events.push("open"));
  socket.addEventListener(
    "reconnecting",
    (e) =>
      events.push(`reconnecting ${e.attempt} ${e.delay} ${e.code} ${e.reason}`),
  );
  socket.addEventListener("closed", (e) => {
    events.push(`closed ${e.code} ${e.reason}`);
    closed.push(e);
  });
  socket.addEventListener("message", (e) => events.push(`message ${e.data}`));
  return { socket, clock, events, closed };
}

/** Ends the harness: closes the socket so no timer or listener remains. */
function stop({ socket, clock }: Harness): void {
  socket.close();
  FakeWebSocket.last?.end(1000);
  assert.equal(clock.pending, 0, "a timer outlived close()");
}

Deno.test("reconnects after a drop: reconnecting with attempt and delay, then connecting and open", async () => {
  const h = start();
  await settle();
  assert.equal(h.socket.state, "connecting");
  assert.equal(FakeWebSocket.made.length, 1);
  assert.equal(FakeWebSocket.last.binaryType, "arraybuffer");
  FakeWebSocket.last.open();
  assert.equal(h.socket.state, "open");
  FakeWebSocket.last.end(1006);
  assert.equal(h.socket.state, "reconnecting");
  await h.clock.advance(999);
  assert.equal(FakeWebSocket.made.length, 1, "retried before its delay");
  await h.clock.advance(1);
  assert.equal(FakeWebSocket.made.length, 2);
  assert.equal(h.socket.state, "reconnecting", "stays reconnecting until open");
  FakeWebSocket.last.open();
  assert.deepEqual(h.events, [
    "connecting 0",
    "open",
    "reconnecting 1 1000 1006 ",
    "connecting 1",
    "open",
  ]);
  assert.deepEqual(h.socket.stats, {
    attempts: 2,
    drops: 1,
    queued: 0,
    queuedBytes: 0,
  });
  stop(h);
});

Deno.test("failed attempts back off exponentially (jitter drawn for each) up to maxDelay", async () => {
  const h = start({ random: sequence(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0) });
  await settle();
  const delays: number[] = [];
  h.socket.addEventListener("reconnecting", (e) => delays.push(e.delay));
  for (let i = 0; i < 8; i++) {
    FakeWebSocket.last.end(1006);
    await h.clock.advance(delays.at(-1)!);
  }
  // Windows 0.5-1.5, 0.5-2.5, 0.5-4.5, 0.5-8.5, 0.5-16.5 s, then 0.5-20 s.
  assert.deepEqual(delays, [1000, 1500, 2500, 4500, 8500, 10_250, 10_250, 500]);
  assert.equal(FakeWebSocket.made.length, 9);
  stop(h);
});

Deno.test("minUptime: a connection that lasted 5 s resets the backoff, a shorter one continues it", async () => {
  const h = start({ random: () => 0 });
  await settle();
  const attempts: number[] = [];
  h.socket.addEventListener("reconnecting", (e) => attempts.push(e.attempt));
  FakeWebSocket.last.end(1006); // First attempt failed: retry 1.
  await h.clock.advance(500);
  FakeWebSocket.last.end(1006); // Retry 2.
  await h.clock.advance(500);
  FakeWebSocket.last.open();
  await h.clock.advance(4999);
  FakeWebSocket.last.end(1001); // Up 4.999 s: retry 3.
  await h.clock.advance(500);
  FakeWebSocket.last.open();
  await h.clock.advance(5000);
  FakeWebSocket.last.end(1001); // Up 5 s: back to retry 1.
  assert.deepEqual(attempts, [1, 2, 3, 1]);
  stop(h);
});

Deno.test("an attempt that does not open within connectTimeout is abandoned and retried", async () => {
  const h = start({ connectTimeout: 3000 });
  await settle();
  const first = FakeWebSocket.last;
  await h.clock.advance(2999);
  assert.equal(first.closedWith, undefined);
  await h.clock.advance(1);
  assert.deepEqual(first.closedWith, [1000, "reconnecting"]);
  assert.equal(h.socket.state, "reconnecting");
  first.end(1006); // The abandoned socket's late close event changes nothing.
  assert.deepEqual(h.events, [
    "connecting 0",
    "reconnecting 1 1000 1006 connect timeout",
  ]);
  stop(h);
});

Deno.test("maxRetries: gives up after that many retries with a closed event that says so", async () => {
  const h = start({ maxRetries: 2 });
  await settle();
  FakeWebSocket.last.end(1006);
  await h.clock.advance(1000);
  FakeWebSocket.last.end(1006);
  await h.clock.advance(1500);
  FakeWebSocket.last.end(1006);
  await h.clock.advance(60_000);
  assert.equal(FakeWebSocket.made.length, 3);
  assert.equal(h.socket.state, "closed");
  assert.equal(h.closed.length, 1);
  assert.equal(h.closed[0]!.reason, "gave up after 2 retries (last: 1006 )");
  assert.equal(h.clock.pending, 0);
});

for (const code of [1008, 4000, 4401, 4999]) {
  Deno.test(`close code ${code} from the server is final: no retry`, async () => {
    const h = start();
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.end(code, "go away");
    await h.clock.advance(60_000);
    assert.equal(FakeWebSocket.made.length, 1);
    assert.equal(h.socket.state, "closed");
    assert.deepEqual(h.events, [
      "connecting 0",
      "open",
      `closed ${code} go away`,
    ]);
    assert.equal(h.closed[0]!.wasClean, true);
    assert.equal(h.clock.pending, 0);
  });
}

for (const code of [1000, 1001, 1006, 1011, 3000, 5000]) {
  Deno.test(`close code ${code} from the server is retried`, async () => {
    const h = start();
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.end(code);
    await h.clock.advance(1000);
    assert.equal(FakeWebSocket.made.length, 2);
    stop(h);
  });
}

Deno.test("startClosed waits for open(); the URL function is called before every attempt", async () => {
  let calls = 0;
  const h = start(
    { startClosed: true, protocols: ["chat.v2", "chat.v1"] },
    async () => {
      await Promise.resolve();
      return `ws://test/ws?token=${++calls}`;
    },
  );
  await h.clock.advance(10_000);
  assert.equal(FakeWebSocket.made.length, 0);
  assert.equal(h.socket.state, "closed");
  h.socket.open();
  await settle();
  assert.equal(FakeWebSocket.last.url, "ws://test/ws?token=1");
  assert.deepEqual(FakeWebSocket.last.protocols, ["chat.v2", "chat.v1"]);
  FakeWebSocket.last.end(1006);
  await h.clock.advance(1000);
  assert.equal(FakeWebSocket.last.url, "ws://test/ws?token=2");
  assert.equal(calls, 2);
  stop(h);
});

Deno.test("a failing URL function counts as a failed attempt and is retried", async () => {
  let calls = 0;
  const h = start({}, () => {
    if (++calls === 1) throw new Error("no token yet");
    return "ws://test/ws";
  });
  await settle();
  assert.equal(FakeWebSocket.made.length, 0);
  assert.equal(
    h.events[1],
    "reconnecting 1 1000 1006 the URL function failed: Error: no token yet",
  );
  await h.clock.advance(1000);
  assert.equal(FakeWebSocket.made.length, 1);
  stop(h);
});

Deno.test("a URL the WebSocket constructor rejects closes the socket for good", async () => {
  const h = start({
    WebSocket: class {
      constructor() {
        throw new SyntaxError("bad URL");
      }
    } as unknown as typeof WebSocket,
  }, "nonsense");
  await settle();
  assert.equal(h.socket.state, "closed");
  assert.match(
    h.events.at(-1)!,
    /^closed 1006 invalid URL: SyntaxError: bad URL$/,
  );
  assert.equal(h.clock.pending, 0);
});

Deno.test("sends while disconnected are queued and go out in order once, right at open", async () => {
  const h = start();
  await settle();
  assert.equal(h.socket.send("one"), "queued");
  assert.equal(h.socket.send(new Uint8Array([1, 2])), "queued");
  assert.equal(h.socket.send("cursor", { volatile: true }), "dropped");
  assert.deepEqual(h.socket.stats, {
    attempts: 1,
    drops: 0,
    queued: 2,
    queuedBytes: 5,
  });
  let sentAtOpen: unknown[] = [];
  h.socket.addEventListener(
    "open",
    () => sentAtOpen = [...FakeWebSocket.last.sent],
  );
  FakeWebSocket.last.open();
  assert.deepEqual(sentAtOpen, ["one", new Uint8Array([1, 2])]);
  assert.equal(h.socket.send("two"), "sent");
  assert.equal(h.socket.send("live", { volatile: true }), "sent");
  FakeWebSocket.last.end(1006);
  h.socket.send("three");
  await h.clock.advance(1000);
  FakeWebSocket.last.open();
  assert.deepEqual(FakeWebSocket.made[0]!.sent, [
    "one",
    new Uint8Array([1, 2]),
    "two",
    "live",
  ]);
  assert.deepEqual(FakeWebSocket.made[1]!.sent, ["three"]);
  assert.equal(h.socket.stats.queued, 0);
  stop(h);
});

Deno.test("past the queue bound send throws sendQueueFull and nothing is lost or reordered", async () => {
  const h = start({ maxQueuedMessages: 3, maxQueuedBytes: 1000 });
  await settle();
  for (const data of ["a", "b", "c"]) h.socket.send(data);
  assert.throws(() => h.socket.send("d"), (error: unknown) => {
    assert.ok(error instanceof WebSocketError);
    assert.equal(error.status, "sendQueueFull");
    assert.match(error.message, /offline queue is full \(3 of 3 messages/);
    return true;
  });
  assert.equal(h.socket.send("e", { volatile: true }), "dropped");
  FakeWebSocket.last.open();
  assert.deepEqual(FakeWebSocket.last.sent, ["a", "b", "c"]);
  stop(h);
});

Deno.test("a send while the connection is already closing is queued, not lost", async () => {
  const h = start();
  await settle();
  FakeWebSocket.last.open();
  FakeWebSocket.last.readyState = 2; // The server's close frame arrived.
  assert.equal(h.socket.send("in between"), "queued");
  FakeWebSocket.last.end(1001);
  await h.clock.advance(1000);
  FakeWebSocket.last.open();
  assert.deepEqual(FakeWebSocket.last.sent, ["in between"]);
  stop(h);
});

Deno.test("reconnect() drops the connection and starts an attempt at once", async () => {
  const h = start();
  await settle();
  const first = FakeWebSocket.last;
  first.open();
  h.socket.reconnect();
  assert.deepEqual(first.closedWith, [1000, "reconnecting"]);
  assert.equal(h.socket.state, "reconnecting");
  await settle();
  assert.equal(FakeWebSocket.made.length, 2);
  FakeWebSocket.last.open();
  assert.equal(h.socket.state, "open");
  assert.deepEqual(h.socket.stats, {
    attempts: 2,
    drops: 0,
    queued: 0,
    queuedBytes: 0,
  });
  stop(h);
});

Deno.test("close(): closed event with the connection's code, unsent count, and send refused after", async () => {
  const h = start();
  await settle();
  FakeWebSocket.last.open();
  FakeWebSocket.last.end(1006);
  h.socket.send("never sent");
  h.socket.close(1000, "bye");
  assert.equal(h.socket.state, "closed");
  assert.equal(h.closed[0]!.unsent, 1);
  assert.throws(() => h.socket.send("late"), /socket is closed/);
  assert.equal(h.clock.pending, 0);

  const g = start();
  await settle();
  FakeWebSocket.last.open();
  g.socket.close(4000, "done here");
  assert.deepEqual(FakeWebSocket.last.closedWith, [4000, "done here"]);
  assert.equal(g.closed.length, 0, "closed before the handshake finished");
  FakeWebSocket.last.end(4000, "done here");
  assert.equal(g.closed.length, 1);
  assert.equal(g.closed[0]!.wasClean, true);
  await g.clock.advance(60_000);
  assert.equal(FakeWebSocket.made.length, 1);
});

Deno.test("close() on a dead line reports closed after connectTimeout instead of waiting", async () => {
  const h = start();
  await settle();
  FakeWebSocket.last.open();
  h.socket.close();
  await h.clock.advance(5000);
  assert.deepEqual(h.events.at(-1), "closed 1006 ");
  assert.equal(h.closed[0]!.wasClean, false);
  assert.equal(h.clock.pending, 0);
});

Deno.test("heartbeat: a probe at open, then one after each quiet interval; no answer within the timeout drops the connection", async () => {
  const h = start({ heartbeatInterval: 25_000, heartbeatTimeout: 10_000 });
  await settle();
  const ws = FakeWebSocket.last;
  ws.open();
  assert.deepEqual(ws.sent, [HEARTBEAT_PING]);
  ws.receive(HEARTBEAT_PONG);
  await h.clock.advance(20_000);
  ws.receive("news"); // Traffic postpones the next heartbeat.
  await h.clock.advance(24_999);
  assert.equal(ws.sent.length, 1);
  await h.clock.advance(1);
  assert.deepEqual(ws.sent, [HEARTBEAT_PING, HEARTBEAT_PING]);
  await h.clock.advance(9_999);
  assert.equal(h.socket.state, "open");
  await h.clock.advance(1);
  assert.equal(h.socket.state, "reconnecting");
  assert.equal(h.events.at(-1), "reconnecting 1 1000 1006 heartbeat timeout");
  // Heartbeats are never shown to the application.
  assert.deepEqual(h.events.filter((e) => e.startsWith("message")), [
    "message news",
  ]);
  stop(h);
});

Deno.test("heartbeat: a server that never answers gets one probe and the connection stays up", async () => {
  const h = start({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
  await settle();
  const ws = FakeWebSocket.last;
  ws.open();
  await h.clock.advance(60_000);
  assert.equal(h.socket.state, "open");
  assert.deepEqual(ws.sent, [HEARTBEAT_PING]);
  ws.receive("still here");
  assert.equal(h.events.at(-1), "message still here");
  stop(h);
});

Deno.test("heartbeat: an echoed ping counts as an answer, and any message counts as life", async () => {
  const h = start({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
  await settle();
  const ws = FakeWebSocket.last;
  ws.open();
  ws.receive(HEARTBEAT_PING); // An echo server sends the probe back.
  for (let i = 0; i < 10; i++) {
    await h.clock.advance(900);
    ws.receive(`tick ${i}`);
  }
  assert.deepEqual(ws.sent, [HEARTBEAT_PING]);
  await h.clock.advance(1000);
  assert.equal(ws.sent.length, 2);
  await h.clock.advance(500);
  assert.equal(h.socket.state, "reconnecting");
  assert.equal(h.events.filter((e) => e.includes("socketry")).length, 0);
  stop(h);
});

Deno.test("offline drops the connection at once; online starts the waiting attempt at once", async () => {
  const h = start({ random: () => 0.99 });
  await settle();
  FakeWebSocket.last.open();
  globalThis.dispatchEvent(new Event("offline"));
  assert.equal(h.socket.state, "reconnecting");
  assert.equal(
    h.events.at(-1),
    "reconnecting 1 1490 1006 the browser went offline",
  );
  await h.clock.advance(100);
  globalThis.dispatchEvent(new Event("online"));
  await settle();
  assert.equal(FakeWebSocket.made.length, 2);
  FakeWebSocket.last.open();
  assert.equal(h.socket.state, "open");
  stop(h);
  globalThis.dispatchEvent(new Event("offline")); // No listener left behind.
  assert.equal(h.events.at(-1), "closed 1000 ");
});

Deno.test("for await yields messages across reconnects and ends when the socket is closed", async () => {
  const h = start();
  await settle();
  const received: unknown[] = [];
  const loop = (async () => {
    for await (const message of h.socket) received.push(message);
  })();
  FakeWebSocket.last.open();
  FakeWebSocket.last.receive("a");
  FakeWebSocket.last.end(1006);
  await h.clock.advance(1000);
  FakeWebSocket.last.open();
  const bytes = new Uint8Array([9]).buffer;
  FakeWebSocket.last.receive(bytes);
  FakeWebSocket.last.receive(HEARTBEAT_PONG);
  FakeWebSocket.last.receive("b");
  await settle();
  stop(h);
  await loop;
  assert.deepEqual(received, ["a", bytes, "b"]);
  let after = 0;
  for await (const _ of h.socket) after++;
  assert.equal(after, 0);
});

Deno.test("option checks name the option", () => {
  assert.throws(
    () => new ReconnectingSocket("ws://x", { minDelay: -1 }),
    /minDelay must be a number >= 0/,
  );
  assert.throws(
    () => new ReconnectingSocket("ws://x", { minDelay: 5000, maxDelay: 100 }),
    /maxDelay \(100\) must be at least minDelay \(5000\)/,
  );
  assert.throws(
    () => new ReconnectingSocket("ws://x", { maxRetries: Number.NaN }),
    /maxRetries/,
  );
  const fromJavaScript: Record<string, unknown> = { heartbeatIntervall: 1000 };
  assert.throws(
    () =>
      new ReconnectingSocket(
        "ws://x",
        fromJavaScript as ReconnectingSocketOptions,
      ),
    /^TypeError: Unknown option "heartbeatIntervall": did you mean "heartbeatInterval"\?$/,
  );
});
