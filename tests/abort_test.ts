import assert from "node:assert/strict";
import { cancellable, onAbort, signalError } from "../lib/abort.ts";
import { WebSocketError, WebSocketStatus } from "../lib/errors.ts";

Deno.test("signalError: a TimeoutError reason is a timeout", async () => {
  const signal = AbortSignal.timeout(1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const error = signalError("receive()", signal);
  assert.ok(error instanceof WebSocketError);
  assert.equal(error.status, WebSocketStatus.Timeout);
  assert.equal(error.message, "receive() timed out");
  assert.equal(error.cause, signal.reason);
});

Deno.test("signalError: any other reason is cancelled", () => {
  const plain = new AbortController();
  plain.abort();
  assert.equal(signalError("send()", plain.signal).status, "cancelled");
  assert.equal(
    signalError("send()", plain.signal).message,
    "send() was cancelled",
  );
  const custom = new AbortController();
  custom.abort("stop");
  assert.equal(signalError("x", custom.signal).status, "cancelled");
  const timeoutLike = new AbortController();
  timeoutLike.abort(new DOMException("late", "TimeoutError"));
  assert.equal(signalError("x", timeoutLike.signal).status, "timeout");
});

Deno.test("cancellable: settles as the promise, or rejects on abort", async () => {
  const controller = new AbortController();
  assert.equal(await cancellable(Promise.resolve(7), controller.signal), 7);
  const never = new Promise<number>(() => {});
  const raced = cancellable(never, controller.signal);
  controller.abort(new Error("enough"));
  await assert.rejects(raced, { message: "enough" });
  await assert.rejects(cancellable(Promise.resolve(1), controller.signal), {
    message: "enough",
  });
});

Deno.test("onAbort: runs once with the reason, and not after it is stopped", () => {
  const seen: unknown[] = [];
  const first = new AbortController();
  onAbort(first.signal, (reason) => seen.push(reason));
  first.abort("first");
  first.abort("again");
  const second = new AbortController();
  const stop = onAbort(second.signal, (reason) => seen.push(reason));
  stop();
  second.abort("second");
  assert.deepEqual(seen, ["first"]);
  onAbort(undefined, () => seen.push("never"))();
  assert.deepEqual(seen, ["first"]);
});
