/** The shared deadline scheduler: one timer for deadlines of any length. */

import assert from "node:assert/strict";
import { Deadline, Deadlines } from "../../lib/engine/deadlines.ts";

class Call extends Deadline {
  readonly #run: () => void;
  constructor(run: () => void) {
    super();
    this.#run = run;
  }
  expire(): void {
    this.#run();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `count` calls have been recorded, or rejects after `ms`. */
function calls(count: number, ms = 2000) {
  const fired: { name: string; at: number; now: number }[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(
    () => reject(new Error(`${fired.length} of ${count} calls in ${ms} ms`)),
    ms,
  );
  const record = (name: string, deadline: () => Deadline) => () => {
    fired.push({ name, at: deadline().at, now: Date.now() });
    if (fired.length === count) {
      clearTimeout(timer);
      resolve();
    }
  };
  return { fired, done: promise, record };
}

function entry(
  record: (name: string, deadline: () => Deadline) => () => void,
  name: string,
): Deadline {
  const deadline: Deadline = new Call(() => run());
  const run = record(name, () => deadline);
  return deadline;
}

Deno.test("deadlines fire in the order of their times, none early", async () => {
  const scheduler = new Deadlines();
  const { fired, done, record } = calls(3);
  const start = Date.now();
  scheduler.schedule(entry(record, "60"), start + 60);
  scheduler.schedule(entry(record, "20"), start + 20);
  scheduler.schedule(entry(record, "40"), start + 40);
  assert.equal(scheduler.size, 3);
  assert.ok(scheduler.armed);
  await done;
  assert.deepEqual(fired.map((f) => f.name), ["20", "40", "60"]);
  for (const f of fired) assert.ok(f.now >= f.at, `${f.name} fired early`);
  assert.equal(scheduler.size, 0);
  assert.equal(scheduler.armed, false, "a timer stays armed with nothing due");
});

Deno.test("a deadline earlier than the armed one re-arms the timer", async () => {
  const scheduler = new Deadlines();
  const { fired, done, record } = calls(1);
  const start = Date.now();
  const late = entry(record, "late");
  scheduler.schedule(late, start + 5_000);
  scheduler.schedule(entry(record, "early"), start + 30);
  await done;
  assert.deepEqual(fired.map((f) => f.name), ["early"]);
  assert.ok(
    fired[0]!.now - start < 1_000,
    `fired after ${fired[0]!.now - start} ms`,
  );
  assert.ok(scheduler.armed);
  scheduler.cancel(late);
  assert.equal(scheduler.armed, false);
});

Deno.test("a cancelled deadline is not called, and cancelling the last clears the timer", async () => {
  const scheduler = new Deadlines();
  const called: string[] = [];
  const a = new Call(() => called.push("a"));
  const b = new Call(() => called.push("b"));
  const start = Date.now();
  scheduler.schedule(a, start + 20);
  scheduler.schedule(b, start + 40);
  scheduler.cancel(a);
  assert.equal(a.scheduled, false);
  assert.equal(scheduler.size, 1);
  assert.ok(scheduler.armed, "b is still due");
  scheduler.cancel(b);
  scheduler.cancel(b);
  assert.equal(scheduler.size, 0);
  assert.equal(scheduler.armed, false);
  await sleep(70);
  assert.deepEqual(called, []);
});

Deno.test("a callback may cancel or move another deadline due at the same time", async () => {
  const scheduler = new Deadlines();
  const called: string[] = [];
  const at = Date.now() + 20;
  const moved = new Call(() => called.push("moved"));
  const cancelled = new Call(() => called.push("cancelled"));
  const first = new Call(() => {
    called.push("first");
    scheduler.cancel(cancelled);
    scheduler.schedule(moved, Date.now() + 30);
  });
  scheduler.schedule(first, at);
  scheduler.schedule(cancelled, at + 1);
  scheduler.schedule(moved, at + 1);
  await sleep(40);
  assert.deepEqual(called, ["first"]);
  await sleep(60);
  assert.deepEqual(called, ["first", "moved"]);
  assert.equal(scheduler.armed, false);
});

Deno.test("moving a deadline later or earlier keeps the heap in order", async () => {
  const scheduler = new Deadlines();
  const { fired, done, record } = calls(4);
  const start = Date.now();
  const entries = ["a", "b", "c", "d"].map((name) => entry(record, name));
  entries.forEach((e, i) => scheduler.schedule(e, start + 20 + 10 * i));
  scheduler.schedule(entries[0]!, start + 70); // a: first to last
  scheduler.schedule(entries[3]!, start + 10); // d: last to first
  await done;
  assert.deepEqual(fired.map((f) => f.name), ["d", "b", "c", "a"]);
  for (const f of fired) assert.ok(f.now >= f.at, `${f.name} fired early`);
});

Deno.test("10,000 deadlines of different lengths all fire, in order", async () => {
  const scheduler = new Deadlines();
  const count = 10_000;
  const { fired, done, record } = calls(count, 5_000);
  const start = Date.now();
  const entries: Deadline[] = [];
  for (let i = 0; i < count; i++) {
    const e = entry(record, String(i));
    entries.push(e);
    // A spread of times, scheduled out of order.
    scheduler.schedule(e, start + 20 + ((i * 7919) % 60));
  }
  // Cancel every tenth: they must not fire.
  for (let i = 0; i < count; i += 10) scheduler.cancel(entries[i]!);
  const kept = count - count / 10;
  assert.equal(scheduler.size, kept);
  for (let i = 0; i < count; i += 10) {
    scheduler.schedule(entries[i]!, start + 30);
  }
  await done;
  assert.equal(new Set(fired.map((f) => f.name)).size, count);
  for (let i = 1; i < count; i++) {
    assert.ok(fired[i]!.at >= fired[i - 1]!.at, `out of order at ${i}`);
  }
  for (const f of fired) assert.ok(f.now >= f.at, `${f.name} fired early`);
  assert.equal(scheduler.size, 0);
  assert.equal(scheduler.armed, false);
});

Deno.test("a callback that throws is reported and does not stop the others", async () => {
  const scheduler = new Deadlines();
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    const called: string[] = [];
    const boom = new Error("boom");
    const at = Date.now() + 20;
    scheduler.schedule(
      new Call(() => {
        called.push("throws");
        throw boom;
      }),
      at,
    );
    scheduler.schedule(new Call(() => called.push("same time")), at + 1);
    scheduler.schedule(new Call(() => called.push("later")), at + 30);
    await sleep(100);
    assert.deepEqual(called, ["throws", "same time", "later"]);
    assert.deepEqual(reported, [boom]);
    assert.equal(scheduler.armed, false);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});
