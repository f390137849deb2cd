/** A connection's keep-alive: its strategies, on the shared deadlines. */

import assert from "node:assert/strict";
import { deadlines } from "../../lib/engine/deadlines.ts";
import {
  KeepAlive,
  type KeepAliveActions,
  type KeepAliveSettings,
} from "../../lib/engine/keep_alive.ts";

type Event =
  | { kind: "ping"; payload: Uint8Array; at: number }
  | { kind: "pong" | "timedOut" | "silent"; at: number };

/** A keep-alive whose actions are recorded; `next(kind)` waits for one. */
function recorded(settings: Partial<KeepAliveSettings>) {
  const events: Event[] = [];
  const waiters: (() => void)[] = [];
  const push = (event: Event) => {
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  };
  const actions: KeepAliveActions = {
    ping: (payload) => push({ kind: "ping", payload, at: Date.now() }),
    pong: () => push({ kind: "pong", at: Date.now() }),
    timedOut: () => push({ kind: "timedOut", at: Date.now() }),
    silent: () => push({ kind: "silent", at: Date.now() }),
  };
  const keepAlive = new KeepAlive({
    interval: 0,
    timeout: Infinity,
    silenceLimit: Infinity,
    ...settings,
  }, actions);
  let seen = 0;
  const next = async (kind: Event["kind"], ms = 2000): Promise<Event> => {
    const deadline = Date.now() + ms;
    while (true) {
      const found = events.slice(seen).find((e) => e.kind === kind);
      if (found !== undefined) {
        seen = events.indexOf(found) + 1;
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return { keepAlive, events, next };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tokenOf = (payload: Uint8Array) =>
  new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);

/**
 * `elapsed` is at least `ms`, give or take the millisecond between two
 * readings of the clock: the keep-alive and the recorder each read it.
 */
function atLeast(elapsed: number, ms: number, what: string): void {
  assert.ok(elapsed >= ms - 1, `${what} after ${elapsed} ms, before ${ms}`);
}

Deno.test("keep-alive off: nothing is scheduled", async () => {
  const before = deadlines.size;
  for (
    const settings of [{}, { interval: Infinity }, {
      interval: 0,
      silenceLimit: 0,
    }]
  ) {
    const { keepAlive, events } = recorded(settings);
    assert.equal(keepAlive.active, false);
    assert.equal(deadlines.size, before);
    keepAlive.received();
    keepAlive.stop();
    await sleep(30);
    assert.deepEqual(events, []);
  }
});

Deno.test("interval without timeout: an unsolicited PONG every interval, traffic or not", async () => {
  const start = Date.now();
  const { keepAlive, next } = recorded({ interval: 30 });
  assert.equal(keepAlive.active, true);
  const first = await next("pong");
  keepAlive.received(); // traffic does not hold back the unsolicited PONG
  const second = await next("pong");
  const third = await next("pong");
  keepAlive.stop();
  atLeast(first.at - start, 30, "first PONG");
  atLeast(second.at - first.at, 30, "second PONG");
  atLeast(third.at - second.at, 30, "third PONG");
  assert.equal(keepAlive.active, false);
});

Deno.test("interval and timeout: a PING with a token after an idle interval, answered by its PONG", async () => {
  const start = Date.now();
  const { keepAlive, events, next } = recorded({ interval: 30, timeout: 60 });
  const first = await next("ping");
  atLeast(first.at - start, 30, "PING");
  assert.equal(first.kind === "ping" && first.payload.byteLength, 4);
  const token = first.kind === "ping" ? tokenOf(first.payload) : -1;
  // A PONG of another length or token does not answer it.
  keepAlive.ponged(new Uint8Array(3));
  keepAlive.ponged(new Uint8Array([0, 0, 0, token + 1]));
  const answered = Date.now();
  keepAlive.received();
  keepAlive.ponged(first.kind === "ping" ? first.payload : new Uint8Array());
  const second = await next("ping");
  atLeast(second.at - answered, 30, "next PING");
  assert.equal(
    second.kind === "ping" && tokenOf(second.payload),
    token + 1,
    "each PING carries a new token",
  );
  assert.ok(!events.some((e) => e.kind === "timedOut"));
  keepAlive.stop();
});

Deno.test("interval and timeout: no PONG with the token within the timeout is a timeout", async () => {
  const { keepAlive, events, next } = recorded({ interval: 20, timeout: 40 });
  const ping = await next("ping");
  keepAlive.received(); // traffic, but not the PONG
  keepAlive.ponged(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  const timedOut = await next("timedOut");
  atLeast(timedOut.at - ping.at, 40, "timeout");
  assert.equal(keepAlive.active, false, "it stops itself");
  await sleep(60);
  assert.deepEqual(events.map((e) => e.kind), ["ping", "timedOut"]);
});

Deno.test("silence limit: traffic keeps it open, then silence ends it", async () => {
  const { keepAlive, events, next } = recorded({ silenceLimit: 40 });
  let last = Date.now();
  for (let i = 0; i < 8; i++) {
    await sleep(15);
    last = Date.now();
    keepAlive.received();
  }
  assert.deepEqual(events, [], "traffic every 15 ms is not silence");
  const silent = await next("silent");
  atLeast(silent.at - last, 40, "silence");
  assert.equal(keepAlive.active, false);
});

Deno.test("traffic does not touch the shared deadlines", () => {
  const { keepAlive } = recorded({ interval: 1_000, silenceLimit: 2_000 });
  const schedule = deadlines.schedule;
  const cancel = deadlines.cancel;
  let touched = 0;
  deadlines.schedule = (...args) => {
    touched++;
    schedule.apply(deadlines, args);
  };
  deadlines.cancel = (...args) => {
    touched++;
    cancel.apply(deadlines, args);
  };
  try {
    for (let i = 0; i < 1_000; i++) keepAlive.received();
  } finally {
    deadlines.schedule = schedule;
    deadlines.cancel = cancel;
  }
  assert.equal(touched, 0);
  keepAlive.stop();
});

Deno.test("stop() cancels: nothing fires and no timer is left armed", async () => {
  const before = deadlines.size;
  const many = Array.from(
    { length: 100 },
    (_, i) => recorded({ interval: 20 + i, timeout: 20, silenceLimit: 30 }),
  );
  assert.equal(deadlines.size, before + 100);
  assert.ok(deadlines.armed);
  for (const { keepAlive } of many) keepAlive.stop();
  assert.equal(deadlines.size, before);
  if (before === 0) assert.equal(deadlines.armed, false);
  await sleep(80);
  for (const { events } of many) assert.deepEqual(events, []);
});

Deno.test("connections with different settings each keep their own deadlines", async () => {
  const fast = recorded({ interval: 20 });
  const slow = recorded({ interval: 60 });
  const silent = recorded({ silenceLimit: 40 });
  await sleep(130);
  fast.keepAlive.stop();
  slow.keepAlive.stop();
  const pongs = (events: Event[]) => events.filter((e) => e.kind === "pong");
  assert.ok(pongs(fast.events).length >= 3, `${pongs(fast.events).length}`);
  assert.ok(
    pongs(slow.events).length >= 1 && pongs(slow.events).length <= 2,
    `${pongs(slow.events).length}`,
  );
  assert.deepEqual(silent.events.map((e) => e.kind), ["silent"]);
});
