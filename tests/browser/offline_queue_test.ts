/** The offline queue's bounds and the byte count of messages. */

import assert from "node:assert/strict";
import {
  messageSize,
  OfflineQueue,
  WebSocketError,
} from "../../lib/browser/mod.ts";

Deno.test("messageSize counts UTF-8 bytes of text without encoding it", () => {
  for (
    const text of [
      "",
      "abc",
      "héllo",
      "€uro",
      "😀",
      "a😀b€é",
      "\ud800x",
      "x\udc00",
    ]
  ) {
    assert.equal(
      messageSize(text),
      new TextEncoder().encode(text).byteLength,
      JSON.stringify(text),
    );
  }
  assert.equal(messageSize(new Uint8Array(7)), 7);
  assert.equal(messageSize(new ArrayBuffer(9)), 9);
  assert.equal(messageSize(new DataView(new ArrayBuffer(8), 2)), 6);
  assert.equal(messageSize(new Blob(["héllo"])), 6);
});

Deno.test("the offline queue refuses past its message bound with a clear error and keeps what it had", () => {
  const queue = new OfflineQueue(2, 1000);
  queue.push("one");
  queue.push("two");
  assert.throws(() => queue.push("three"), (error: unknown) => {
    assert.ok(error instanceof WebSocketError);
    assert.equal(error.status, "sendQueueFull");
    assert.match(error.message, /offline queue is full \(2 of 2 messages/);
    return true;
  });
  assert.equal(queue.length, 2);
  assert.equal(queue.bytes, 6);
  assert.deepEqual(queue.take(), ["one", "two"]);
  assert.equal(queue.length, 0);
  assert.equal(queue.bytes, 0);
  queue.push("three");
  assert.deepEqual(queue.take(), ["three"]);
});

Deno.test("the offline queue refuses past its byte bound", () => {
  const queue = new OfflineQueue(100, 10);
  queue.push("12345");
  queue.push(new Uint8Array(5));
  assert.throws(
    () => queue.push("x"),
    /offline queue is full \(2 of 100 messages, 10 \+ 1 of 10 bytes\)/,
  );
  assert.throws(
    () => new OfflineQueue(100, 10).push("€€€€"),
    /0 \+ 12 of 10 bytes/,
  );
  assert.equal(queue.bytes, 10);
});
