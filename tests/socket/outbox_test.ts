/** The outbox on its own, over a transport that drains when told to. */

import assert from "node:assert/strict";
import { WebSocketError, WebSocketStatus } from "../../mod.ts";
import { Counters } from "../../lib/socket/counters.ts";
import { resolveSocketOptions } from "../../lib/socket/options.ts";
import { Outbox } from "../../lib/socket/outbox.ts";

function setup() {
  const written: (string | Uint8Array)[] = [];
  let buffered = 0;
  let drained = Promise.withResolvers<void>();
  let aborted = 0;
  const counters = new Counters();
  const outbox = new Outbox(
    resolveSocketOptions({ sendHighWaterMark: 10, maxBufferedAmount: 100 }),
    counters,
    {
      transmit(data) {
        written.push(data);
        buffered += typeof data === "string" ? data.length : data.byteLength;
      },
      bufferedAmount: () => buffered,
      bufferedBound: () => buffered,
      waitForDrain: () => drained.promise,
      abort: () => aborted++,
    },
  );
  const drain = () => {
    buffered = 0;
    const previous = drained;
    drained = Promise.withResolvers();
    previous.resolve();
  };
  return { outbox, written, drain, counters, aborted: () => aborted };
}

Deno.test("outbox: writes at once below the high-water mark, queues in order above it", async () => {
  const { outbox, written, drain, counters } = setup();
  outbox.open();
  await outbox.send("0123456789ab", {});
  const second = outbox.send("second", {});
  const third = outbox.send("third", {});
  assert.deepEqual(written, ["0123456789ab"]);
  assert.equal(outbox.bytes, 11);
  drain();
  await second;
  drain();
  await third;
  assert.deepEqual(written, ["0123456789ab", "second", "third"]);
  assert.equal(counters.snapshot().messagesSent, 3);
});

Deno.test("outbox: refuses what would pass maxBufferedAmount", async () => {
  const { outbox } = setup();
  await assert.rejects(
    outbox.send(new Uint8Array(101), {}),
    (error: unknown) =>
      error instanceof WebSocketError &&
      error.status === WebSocketStatus.SendQueueFull,
  );
});

Deno.test("outbox: a dropped fragment aborts, a dropped whole message does not", async () => {
  const { outbox, aborted } = setup();
  const whole = new AbortController();
  const sent = outbox.send("whole", { signal: whole.signal });
  whole.abort();
  await assert.rejects(sent, /cancelled/);
  assert.equal(aborted(), 0);
  const part = new AbortController();
  void outbox.send("first part", { endOfMessage: false }).catch(() => {});
  const rest = outbox.send("rest", { signal: part.signal });
  part.abort();
  await assert.rejects(rest, /cancelled/);
  assert.equal(aborted(), 1);
});

Deno.test("outbox: end fails what waits, refuse fails what comes", async () => {
  const { outbox } = setup();
  const waiting = outbox.send("waits for open", {});
  const failure = new WebSocketError("gone", { status: "closed" });
  outbox.end(() => failure);
  await assert.rejects(waiting, (error) => error === failure);
  await assert.rejects(outbox.send("late", {}), (error) => error === failure);
  await outbox.drained();
});

/**
 * A transport with an ordered queue of its own, as Deno's socket: it counts
 * what it was given until `write()` says the oldest message went out.
 */
function queueingSetup(sendTimeout = Infinity) {
  const given: string[] = [];
  let poll = Promise.withResolvers<void>();
  const outbox = new Outbox(
    resolveSocketOptions({
      sendHighWaterMark: 10,
      maxBufferedAmount: 100,
      sendTimeout,
    }),
    new Counters(),
    {
      transmit(data) {
        given.push(data as string);
      },
      bufferedAmount: () => given.reduce((sum, data) => sum + data.length, 0),
      bufferedBound: () => given.reduce((sum, data) => sum + data.length, 0),
      waitForDrain: () => poll.promise,
      abort: () => {},
      queues: true,
    },
  );
  /** The oldest message was written; the outbox's next poll sees it. */
  const write = async () => {
    given.shift();
    const previous = poll;
    poll = Promise.withResolvers();
    previous.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { outbox, given, write };
}

Deno.test("outbox: a queueing transport takes sends behind backpressure at once; each resolves once fewer than sendHighWaterMark bytes wait ahead of it", async () => {
  const { outbox, given, write } = queueingSetup();
  outbox.open();
  const settled: string[] = [];
  const send = (data: string) =>
    outbox.send(data, {}).then(() => settled.push(data));
  await send("0123456789ab");
  const second = send("abcdefghijkl");
  const third = send("x");
  // Both went to the transport behind the first, which is still buffered.
  assert.deepEqual(given, ["0123456789ab", "abcdefghijkl", "x"]);
  assert.equal(outbox.bytes, 0);
  await write();
  await second;
  // 12 bytes still wait ahead of "x": it waits on.
  assert.deepEqual(settled, ["0123456789ab", "abcdefghijkl"]);
  await write();
  await third;
  assert.deepEqual(settled, ["0123456789ab", "abcdefghijkl", "x"]);
});

Deno.test("outbox: a queueing transport still gets cancellable sends only as it drains", async () => {
  const { outbox, given, write } = queueingSetup();
  outbox.open();
  await outbox.send("0123456789ab", {});
  const controller = new AbortController();
  const cancelled = outbox.send("cancel me", { signal: controller.signal });
  assert.deepEqual(given, ["0123456789ab"]);
  controller.abort();
  await assert.rejects(cancelled, /cancelled/);
  const timed = queueingSetup(60_000);
  timed.outbox.open();
  await timed.outbox.send("0123456789ab", {});
  const waiting = timed.outbox.send("times out", {});
  assert.deepEqual(timed.given, ["0123456789ab"]);
  await timed.write();
  await waiting;
  assert.deepEqual(timed.given, ["times out"]);
  assert.deepEqual(given, ["0123456789ab"]);
  await write();
});

Deno.test("outbox: sends a queueing transport took wait in drained() and fail when the socket ends", async () => {
  const { outbox, write } = queueingSetup();
  outbox.open();
  await outbox.send("0123456789ab", {});
  const waiting = outbox.send("behind", {});
  let drained = false;
  const draining = outbox.drained().then(() => drained = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(drained, false);
  await write();
  await waiting;
  await draining;
  const behind = outbox.send("0123456789ab", {});
  const last = outbox.send("last", {});
  const failure = new WebSocketError("gone", { status: "closed" });
  outbox.end(() => failure);
  await behind;
  await assert.rejects(last, (error) => error === failure);
});

Deno.test("outbox: an offer is written at once, queued in order behind backpressure, or refused at once, without a promise", async () => {
  const { outbox, written, drain, counters } = setup();
  outbox.open();
  assert.equal(
    outbox.offerMeasured("0123456789ab", "text", 12, true),
    undefined,
  );
  const queued = outbox.offerMeasured("second", "text", 6, true);
  assert.equal(queued, undefined);
  const awaited = outbox.send("third", {});
  assert.deepEqual(written, ["0123456789ab"]);
  assert.equal(outbox.bytes, 11);
  const refusal = outbox.offerMeasured(new Uint8Array(90), "binary", 90, true);
  assert.ok(refusal instanceof WebSocketError);
  assert.equal(refusal.status, WebSocketStatus.SendQueueFull);
  assert.equal(outbox.bytes, 11);
  drain();
  await new Promise((resolve) => setTimeout(resolve, 0));
  drain();
  await awaited;
  assert.deepEqual(written, ["0123456789ab", "second", "third"]);
  assert.equal(counters.snapshot().messagesSent, 3);
  const failure = new WebSocketError("gone", { status: "closed" });
  outbox.refuse(() => failure);
  assert.equal(outbox.offerMeasured("late", "text", 4, true), failure);
});

Deno.test("outbox: offers a queueing transport took behind backpressure keep drained() waiting as a send would, for the last of them", async () => {
  const { outbox, given, write } = queueingSetup();
  outbox.open();
  await outbox.send("0123456789ab", {});
  for (const data of ["offer 1", "offer 2", "offer 3"]) {
    assert.equal(
      outbox.offerMeasured(data, "text", data.length, true),
      undefined,
    );
  }
  assert.deepEqual(given, ["0123456789ab", "offer 1", "offer 2", "offer 3"]);
  let drained = false;
  const draining = outbox.drained().then(() => drained = true);
  await write();
  // 14 bytes (offers 1 and 2) wait ahead of the last offer: more than
  // sendHighWaterMark, so it still waits.
  assert.equal(drained, false);
  await write();
  await draining;
  assert.deepEqual(given, ["offer 2", "offer 3"]);
  const settled: string[] = [];
  const awaited = outbox.send("0123456789ab", {}).then(() =>
    settled.push("awaited")
  );
  outbox.offerMeasured("offer 4", "text", 7, true);
  const after = outbox.send("after", {}).then(() => settled.push("after"));
  await write();
  await write();
  await write();
  await awaited;
  await write();
  await after;
  assert.deepEqual(settled, ["awaited", "after"]);
  assert.equal(outbox.idle, true);
});

Deno.test("outbox: an offer under sendTimeout is dropped when it times out, and nothing rejects unhandled", async () => {
  const { outbox, written } = setup();
  const timed = new Outbox(
    resolveSocketOptions({
      sendHighWaterMark: 10,
      maxBufferedAmount: 100,
      sendTimeout: 20,
    }),
    new Counters(),
    {
      transmit(data) {
        written.push(data);
      },
      bufferedAmount: () => 50,
      bufferedBound: () => 50,
      waitForDrain: () => new Promise((resolve) => setTimeout(resolve, 5)),
      abort: () => {},
    },
  );
  timed.open();
  assert.equal(
    timed.offerMeasured("never written", "text", 13, true),
    undefined,
  );
  assert.equal(timed.bytes, 13);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(timed.bytes, 0);
  assert.deepEqual(written, []);
  timed.end(() => new WebSocketError("gone", { status: "closed" }));
  await timed.drained();
  void outbox;
});

Deno.test("outbox: offers during a message in fragments follow its last fragment, counted while they wait, dropped if it never ends", async () => {
  const { outbox, written, drain } = setup();
  outbox.open();
  await outbox.send("ab", { endOfMessage: false });
  assert.equal(outbox.offerMeasured("whole", "text", 5, true), undefined);
  assert.equal(
    outbox.offerMeasured(new Uint8Array(2), "binary", 2, true),
    undefined,
  );
  assert.equal(outbox.bytes, 7);
  const full = outbox.offerMeasured(new Uint8Array(95), "binary", 95, true);
  assert.equal(full?.status, WebSocketStatus.SendQueueFull);
  assert.deepEqual(written, ["ab"]);
  await outbox.send("cd", {});
  assert.deepEqual(written, ["ab", "cd", "whole", new Uint8Array(2)]);
  assert.equal(outbox.bytes, 0);
  drain();
  await outbox.send("ef", { endOfMessage: false });
  outbox.offerMeasured("never", "text", 5, true);
  assert.equal(outbox.bytes, 5);
  outbox.refuse(() => new WebSocketError("closing", { status: "closed" }));
  assert.equal(outbox.bytes, 0);
  assert.deepEqual(written, ["ab", "cd", "whole", new Uint8Array(2), "ef"]);
});
