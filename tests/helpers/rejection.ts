/** Assertions on promises that must reject with a `WebSocketError`. */

import assert from "node:assert/strict";
import { WebSocketError, type WebSocketStatus } from "../../mod.ts";

/** Asserts that `promise` rejects with a `WebSocketError`, and returns it. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<WebSocketError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(
    caught instanceof WebSocketError,
    `a WebSocketError, got ${caught}`,
  );
  return caught;
}

/**
 * Asserts that `promise` rejects with a `WebSocketError` of `status` (and a
 * message that matches `message`), and returns it.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  status: WebSocketStatus,
  message?: RegExp,
): Promise<WebSocketError> {
  const error = await rejection(promise);
  assert.equal(error.status, status, error.message);
  if (message !== undefined) assert.match(error.message, message);
  return error;
}
