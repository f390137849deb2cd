/**
 * One rule for `AbortSignal`s everywhere: an operation stopped by a signal
 * whose reason is a `TimeoutError` (as `AbortSignal.timeout()` gives) fails
 * with status `timeout`; stopped for any other reason, with `cancelled`.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "./errors.ts";

/**
 * The error for an operation that `signal` stopped: status `timeout` when the
 * signal's reason is a `DOMException` (or any error) named `TimeoutError`,
 * `cancelled` otherwise. The reason is kept as the error's `cause`.
 *
 * @param what The operation, as the start of a sentence: `"receive()"`,
 * `"Connecting to wss://example.com/"`.
 * @param signal The signal that aborted it.
 */
export function signalError(what: string, signal: AbortSignal): WebSocketError {
  const reason: unknown = signal.reason;
  const timedOut = (reason as { name?: unknown } | null)?.name ===
    "TimeoutError";
  return new WebSocketError(
    timedOut ? `${what} timed out` : `${what} was cancelled`,
    {
      status: timedOut ? WebSocketStatus.Timeout : WebSocketStatus.Cancelled,
      cause: reason,
    },
  );
}

/**
 * Races `promise` against `signal`: rejects with the signal's reason as soon
 * as it aborts (at once if it already has), otherwise settles as `promise`
 * does. The listener is removed either way.
 */
export function cancellable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, reject);
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (error) => {
        stop();
        reject(error);
      },
    );
  });
}

/**
 * Runs `action` with the signal's reason when `signal` aborts, once; the
 * function returned stops listening (call it when the work is done). An
 * `undefined` signal never aborts.
 */
export function onAbort(
  signal: AbortSignal | undefined,
  action: (reason: unknown) => void,
): () => void {
  if (signal === undefined) return () => {};
  const listener = () => action(signal.reason);
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}
