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
  outbox.end(failure, () => failure);
  await assert.rejects(waiting, (error) => error === failure);
  await assert.rejects(outbox.send("late", {}), (error) => error === failure);
  await outbox.drained();
});
