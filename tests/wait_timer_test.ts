/**
 * The shared timer for waits of equal length: each wait expires at its own
 * deadline (never before), stopped waits never expire, and clear() stops
 * everything.
 */

import assert from "node:assert/strict";
import { WaitTimer } from "../lib/wait_timer.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("WaitTimer: a wait expires after the timeout, from its own start", async () => {
  const timer = new WaitTimer(60);
  const started = performance.now();
  const expired: [string, number][] = [];
  const stopA = timer.start(() => expired.push(["a", performance.now()]));
  await sleep(30);
  const startedB = performance.now();
  timer.start(() => expired.push(["b", performance.now()]));
  // A ends before its deadline: the timer armed for it must re-arm for B.
  stopA();
  stopA();
  await sleep(120);
  assert.deepEqual(expired.map(([name]) => name), ["b"]);
  const [, at] = expired[0]!;
  assert.ok(at - startedB >= 59, `b expired after ${at - startedB} ms`);
  assert.ok(at - started >= 89);
  timer.clear();
});

Deno.test("WaitTimer: waits expire in the order they started; stopped ones never", async () => {
  const timer = new WaitTimer(40);
  const expired: number[] = [];
  const stops: (() => void)[] = [];
  for (let i = 0; i < 10; i++) {
    stops.push(timer.start(() => expired.push(i)));
    await sleep(2);
  }
  stops[3]!();
  stops[7]!();
  await sleep(100);
  assert.deepEqual(expired, [0, 1, 2, 4, 5, 6, 8, 9]);
  // Stopping after expiry is harmless.
  stops[0]!();
  timer.clear();
});

Deno.test("WaitTimer: thousands of short waits in a row leave nothing behind", async () => {
  const timer = new WaitTimer(20);
  let expired = 0;
  for (let i = 0; i < 5000; i++) timer.start(() => expired++)();
  await sleep(50);
  assert.equal(expired, 0);
  // The one timer armed for the first wait has fired and found nothing:
  // the test's leak check would fail on a timer still pending.
});

Deno.test("WaitTimer: clear() stops every wait", async () => {
  const timer = new WaitTimer(20);
  let expired = 0;
  timer.start(() => expired++);
  timer.start(() => expired++);
  timer.clear();
  await sleep(50);
  assert.equal(expired, 0);
});
