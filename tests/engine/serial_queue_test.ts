import assert from "node:assert/strict";
import { SerialQueue } from "../../lib/engine/serial_queue.ts";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("serial queue: tasks run one at a time, in the order given", async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  const task = (name: string, ms: number) => async () => {
    running++;
    assert.equal(running, 1, `${name} overlapped another task`);
    log.push(`${name} start`);
    await delay(ms);
    log.push(`${name} end`);
    running--;
  };
  const results = [
    queue.run(task("a", 20)),
    queue.run(() => {
      log.push("b");
    }),
    queue.run(task("c", 1)),
    queue.run(task("d", 10)),
  ];
  assert.equal(queue.size, 4);
  assert.deepEqual(log, ["a start"]);
  await Promise.all(results);
  assert.deepEqual(log, [
    "a start",
    "a end",
    "b",
    "c start",
    "c end",
    "d start",
    "d end",
  ]);
  assert.equal(queue.size, 0);
});

Deno.test("serial queue: a failing task fails only its own run", async () => {
  const queue = new SerialQueue();
  const log: string[] = [];
  const first = queue.run(async () => {
    await delay(5);
    throw new Error("async failure");
  });
  const second = queue.run(() => {
    throw new Error("sync failure");
  });
  const third = queue.run(async () => {
    await delay(1);
    log.push("third");
  });
  await Promise.all([
    assert.rejects(first as Promise<void>, /async failure/),
    assert.rejects(second as Promise<void>, /sync failure/),
    third,
  ]);
  assert.deepEqual(log, ["third"]);
  assert.equal(queue.size, 0);
  // The queue is idle again: the next task takes the fast path.
  let ran = false;
  assert.equal(queue.run(() => void (ran = true)), undefined);
  assert.equal(ran, true);
});

Deno.test("serial queue: with nothing pending a task runs at once", async () => {
  const queue = new SerialQueue();
  let ran = false;
  const result = queue.run(() => {
    ran = true;
  });
  assert.equal(ran, true, "a synchronous task on an idle queue runs in run()");
  assert.equal(result, undefined, "and needs no promise");
  assert.equal(queue.size, 0);

  // A synchronous failure on an idle queue is thrown to the caller.
  assert.throws(() =>
    queue.run(() => {
      throw new Error("at once");
    }), /at once/);
  assert.equal(queue.size, 0);

  // An asynchronous task starts at once and holds back the next one.
  const log: string[] = [];
  const slow = queue.run(async () => {
    log.push("slow start");
    await delay(5);
    log.push("slow end");
  });
  assert.deepEqual(log, ["slow start"]);
  assert.ok(slow instanceof Promise);
  const next = queue.run(() => {
    log.push("next");
  });
  assert.deepEqual(log, ["slow start"], "a task waits while one is pending");
  assert.ok(next instanceof Promise);
  await next;
  assert.deepEqual(log, ["slow start", "slow end", "next"]);
  assert.equal(queue.size, 0);
});
