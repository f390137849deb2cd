/** The reconnect delay: windows, cap, floor, and full jitter over the window. */

import assert from "node:assert/strict";
import { backoffDelay } from "../../lib/browser/mod.ts";

const BOUNDS = { minDelay: 500, maxDelay: 20_000 };
const ALMOST_ONE = 1 - Number.EPSILON;

Deno.test("backoff: each retry's window doubles above the 500 ms floor until the 20 s cap", () => {
  const lows = [1, 2, 3, 4, 5, 6, 7, 40].map((n) =>
    backoffDelay(n, BOUNDS, () => 0)
  );
  const highs = [1, 2, 3, 4, 5, 6, 7, 40].map((n) =>
    backoffDelay(n, BOUNDS, () => ALMOST_ONE)
  );
  assert.deepEqual(lows, [500, 500, 500, 500, 500, 500, 500, 500]);
  assert.deepEqual(highs, [
    1499,
    2499,
    4499,
    8499,
    16_499,
    19_999,
    19_999,
    19_999,
  ]);
});

Deno.test("backoff: the delay is a uniform draw over the whole window (full jitter)", () => {
  assert.equal(backoffDelay(1, BOUNDS, () => 0.5), 1000);
  assert.equal(backoffDelay(3, BOUNDS, () => 0.25), 1500);
  // Drawn with Math.random: 10,000 first retries fill ten 100 ms slices of
  // 0.5-1.5 s evenly, within a generous tolerance.
  const slices = new Array(10).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const delay = backoffDelay(1, BOUNDS);
    assert.ok(delay >= 500 && delay < 1500, `${delay}`);
    slices[Math.floor((delay - 500) / 100)]++;
  }
  for (const count of slices) {
    assert.ok(count > 800 && count < 1200, `${slices}`);
  }
});

Deno.test("backoff: attempt 0 is treated as the first retry, and the cap holds for small bounds", () => {
  assert.equal(backoffDelay(0, BOUNDS, () => 0.5), 1000);
  assert.equal(
    backoffDelay(5, { minDelay: 100, maxDelay: 300 }, () => ALMOST_ONE),
    299,
  );
  assert.equal(
    backoffDelay(5, { minDelay: 100, maxDelay: 100 }, () => 0.7),
    100,
  );
});
