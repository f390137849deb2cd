/**
 * A socket's counters, and the one clock reading a broadcast shares.
 */

import assert from "node:assert/strict";
import { atOneTime, Counters } from "../../lib/socket/counters.ts";

function busyWait(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* the clock moves on */ }
}

Deno.test("counters: bytes and whole messages, both ways", () => {
  const counters = new Counters();
  counters.opened();
  counters.sent(10, false);
  counters.sent(5, true);
  counters.received(7, true);
  const stats = counters.snapshot();
  assert.equal(stats.bytesSent, 15);
  assert.equal(stats.messagesSent, 1);
  assert.equal(stats.bytesReceived, 7);
  assert.equal(stats.messagesReceived, 1);
  assert.ok(stats.lastActivityAt! >= stats.openedAt!);
});

Deno.test("counters: inside atOneTime every count has the time it began, outside the clock's", () => {
  const first = new Counters();
  const last = new Counters();
  const began = Date.now();
  const result = atOneTime(() => {
    first.sent(1, true);
    busyWait(15);
    // Nested: still the outer reading.
    atOneTime(() => last.sent(1, true));
    return "done";
  });
  assert.equal(result, "done");
  const stamp = first.snapshot().lastActivityAt!;
  assert.ok(stamp >= began && stamp < began + 15);
  assert.equal(last.snapshot().lastActivityAt, stamp);
  busyWait(5);
  last.received(1, true);
  assert.ok(last.snapshot().lastActivityAt! >= stamp + 15);
});

Deno.test("counters: a throw inside atOneTime gives the clock back", () => {
  assert.throws(() =>
    atOneTime(() => {
      throw new Error("boom");
    }), /boom/);
  const counters = new Counters();
  busyWait(5);
  const before = Date.now();
  counters.sent(1, true);
  assert.ok(counters.snapshot().lastActivityAt! >= before);
});
