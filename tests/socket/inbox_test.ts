/** The inbox on its own: queueing, pieces, whole messages, lent buffers, the close. */

import assert from "node:assert/strict";
import { Inbox } from "../../lib/socket/inbox.ts";

function inbox(): { inbox: Inbox; taken: () => number; closes: () => number } {
  let taken = 0;
  let closes = 0;
  const box = new Inbox(Infinity, {
    taken: () => taken++,
    closeDelivered: () => closes++,
  });
  return { inbox: box, taken: () => taken, closes: () => closes };
}

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("inbox: a message in parts is joined, text decoded", () => {
  const { inbox: box, taken } = inbox();
  box.push("text", bytes(0x68, 0xc3), 2, false, undefined);
  assert.equal(box.takeMessage(), undefined, "no whole message yet");
  box.push("text", bytes(0xa9), 1, true, undefined);
  assert.equal(box.completeMessages, 1);
  assert.equal(box.bytes, 3);
  assert.equal(box.takeMessage(), "hé");
  assert.equal(box.bytes, 0);
  assert.equal(taken(), 1);
});

Deno.test("inbox: receive() cuts pieces of maxBytes, into a caller's buffer if given", async () => {
  const { inbox: box } = inbox();
  box.push("binary", bytes(1, 2, 3, 4, 5), 5, true, undefined);
  const first = await box.receive(2, undefined, undefined);
  assert.deepEqual(first, {
    type: "binary",
    data: bytes(1, 2),
    endOfMessage: false,
  });
  const into = new Uint8Array(8);
  const rest = await box.receive(8, into, undefined);
  assert.equal(rest.data.buffer, into.buffer);
  assert.deepEqual(rest.data, bytes(3, 4, 5));
  assert.equal(rest.endOfMessage, true);
  assert.equal(box.completeMessages, 0);
});

Deno.test("inbox: a waiting reader gets the next piece, then the close once", async () => {
  const { inbox: box, closes } = inbox();
  const waiting = box.receive(16, undefined, undefined);
  box.push("text", "hi", 2, true, undefined);
  box.wake();
  assert.deepEqual((await waiting).data, bytes(0x68, 0x69));
  box.closeArrived(1000, "bye");
  box.wake();
  const close = await box.receive(16, undefined, undefined);
  assert.equal(close.type, "close");
  assert.equal(closes(), 1);
});

Deno.test("inbox: large lent pieces are held until taken, small ones copied at once", () => {
  const { inbox: box } = inbox();
  const lent = new Uint8Array(100);
  let held = 0;
  let released = 0;
  const hold = () => {
    held++;
    return () => released++;
  };
  box.push("binary", lent.subarray(0, 80), 80, true, hold);
  box.push("binary", lent.subarray(80, 90), 10, true, hold);
  assert.equal(held, 1, "only the large piece holds the buffer");
  const first = box.takeMessage() as Uint8Array;
  assert.equal(released, 1);
  assert.notEqual(first.buffer, lent.buffer, "the message is a copy");
  lent.fill(7);
  const second = box.takeMessage() as Uint8Array;
  assert.deepEqual(second, new Uint8Array(10), "the small piece was copied");
});
