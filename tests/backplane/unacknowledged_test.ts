import assert from "node:assert/strict";
import { Unacknowledged } from "../../lib/backplane/unacknowledged.ts";

Deno.test("Unacknowledged: silence runs from the oldest send or the last answer, whichever is later; nothing waiting is no silence", () => {
  const waiting = new Unacknowledged();
  assert.equal(waiting.silence(100), 0);
  waiting.sent(10);
  waiting.sent(20);
  assert.equal(waiting.size, 2);
  assert.equal(waiting.silence(110), 100);
  // Answers keep coming through a long backlog: no silence from them on.
  waiting.settled(105);
  assert.equal(waiting.silence(110), 5);
  waiting.settled(120);
  assert.equal(waiting.size, 0);
  assert.equal(waiting.silence(10_000), 0);
  waiting.settled(130);
  assert.equal(waiting.size, 0, "an answer with none waiting is ignored");
  waiting.sent(200);
  assert.equal(waiting.silence(250), 50);
});

Deno.test("Unacknowledged: thousands in flight settle in order, and the oldest stays right as answered ones are cut off", () => {
  const waiting = new Unacknowledged();
  for (let i = 0; i < 5000; i++) waiting.sent(i);
  for (let i = 0; i < 4000; i++) waiting.settled(0);
  assert.equal(waiting.size, 1000);
  // The oldest waiting was sent at 4000; the last answer came at 0.
  assert.equal(waiting.silence(4500), 500);
  for (let i = 0; i < 1000; i++) waiting.settled(0);
  assert.equal(waiting.size, 0);
});
