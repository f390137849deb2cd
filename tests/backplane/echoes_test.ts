import assert from "node:assert/strict";
import { Echoes } from "../../lib/backplane/echoes.ts";

// A short timeout for the tests (the backplanes use TIMEOUT).
const TIMEOUT = 400;

function recorder() {
  const served: number[] = [];
  return { served, callback: (seq: number) => () => served.push(seq) };
}

Deno.test("Echoes: an arrival serves the earlier ones that never came back first, each once", () => {
  const echoes = new Echoes(TIMEOUT);
  const { served, callback } = recorder();
  for (const seq of [1, 2, 3, 4]) echoes.expect(seq, callback(seq));
  assert.equal(echoes.arrived(2), true);
  assert.deepEqual(served, [1, 2]);
  assert.equal(echoes.arrived(1), false);
  assert.equal(echoes.arrived(2), false);
  echoes.failed(4);
  assert.deepEqual(served, [1, 2, 4]);
  assert.equal(echoes.size, 1);
  echoes.flush();
  assert.deepEqual(served, [1, 2, 4, 3]);
  assert.equal(echoes.size, 0);
  // Nothing is served twice, whatever comes later.
  echoes.failed(3);
  assert.equal(echoes.arrived(4), false);
  assert.deepEqual(served, [1, 2, 4, 3]);
});

Deno.test("Echoes: a callback that throws is reported, and the others are still served", () => {
  const echoes = new Echoes(TIMEOUT);
  const served: number[] = [];
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    echoes.expect(1, () => {
      throw new Error("boom");
    });
    echoes.expect(2, () => served.push(2));
    echoes.arrived(2);
  } finally {
    console.error = original;
  }
  assert.deepEqual(served, [2]);
  assert.equal(errors.length, 1);
});

Deno.test("Echoes: one that does not come back is served after the timeout, in order", async () => {
  const echoes = new Echoes(TIMEOUT);
  const { served, callback } = recorder();
  const start = performance.now();
  echoes.expect(1, callback(1));
  echoes.expect(2, callback(2));
  while (served.length < 2 && performance.now() - start < 3 * TIMEOUT) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const waited = performance.now() - start;
  assert.deepEqual(served, [1, 2]);
  assert.ok(
    waited >= TIMEOUT && waited < 2 * TIMEOUT,
    `${waited} ms`,
  );
  assert.equal(echoes.arrived(1), false);
  assert.deepEqual(served, [1, 2]);
});

Deno.test("Echoes: after a long turn, an echo that waited in the queue as long is taken as it arrives, not served by the late timer first", async () => {
  const echoes = new Echoes(TIMEOUT);
  const { served, callback } = recorder();
  echoes.expect(1, callback(1));
  // Due after the timer's first check: it waits behind the same long turn.
  const arrival = new Promise<boolean>((resolve) =>
    setTimeout(() => resolve(echoes.arrived(1)), TIMEOUT / 4 + 100)
  );
  const start = performance.now();
  while (performance.now() - start < TIMEOUT + 500) {
    // A turn longer than the timeout.
  }
  assert.equal(await arrival, true);
  assert.deepEqual(served, [1]);
  assert.equal(echoes.size, 0);
});

Deno.test("Echoes: while this process's publications keep coming back, one waiting longer than the timeout is not served by the timer", async () => {
  const echoes = new Echoes(TIMEOUT);
  const { served, callback } = recorder();
  echoes.expect(100, callback(100));
  // Earlier publications, not awaited, keep arriving for 3 timeouts.
  for (let seq = 1; seq <= 30; seq++) {
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT / 10));
    assert.equal(echoes.arrived(seq), false);
  }
  assert.deepEqual(served, []);
  // Then silence: served after the timeout.
  const start = performance.now();
  while (served.length === 0 && performance.now() - start < 4 * TIMEOUT) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(served, [100]);
  assert.ok(performance.now() - start >= TIMEOUT * 0.9);
});
