/**
 * The two ways a socket's wait (a `receive()`, a `for await` step, a queued
 * `send()`) ends early: the socket's own timeout for waits of that kind, and
 * a signal the caller passed.
 *
 * @module
 */

import { signalError } from "../abort.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { WaitTimer } from "../wait_timer.ts";

/** Bounds the waits of one kind (reads, or sends), which all last as long. */
export class WaitLimit {
  readonly #timeout: number;
  readonly #option: "receiveTimeout" | "sendTimeout";
  // One timer for every wait of this kind, made on first use (see WaitTimer).
  #timer: WaitTimer | undefined;

  /** Limits waits to `timeout` ms (`Infinity`: no limit), set by `option`. */
  constructor(timeout: number, option: "receiveTimeout" | "sendTimeout") {
    this.#timeout = timeout;
    this.#option = option;
  }

  /**
   * Watches a wait of `what`: `fail` gets a `timeout` error once the wait
   * lasted the timeout, and the error of `signal` (see `signalError`) when
   * it aborts. Returns the function that stops watching, or `undefined`
   * when there is nothing to watch.
   */
  watch(
    what: string,
    signal: AbortSignal | undefined,
    fail: (error: WebSocketError) => void,
  ): (() => void) | undefined {
    const timed = Number.isFinite(this.#timeout);
    if (signal === undefined && !timed) return undefined;
    const stopTimer = timed
      ? (this.#timer ??= new WaitTimer(this.#timeout)).start(() =>
        fail(this.#timeoutError(what))
      )
      : undefined;
    if (signal === undefined) return stopTimer;
    const onAbort = () => fail(signalError(what, signal));
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener("abort", onAbort, { once: true });
    return () => {
      stopTimer?.();
      signal.removeEventListener("abort", onAbort);
    };
  }

  /** Forgets every wait being watched: none of them will time out. */
  clear(): void {
    this.#timer?.clear();
  }

  #timeoutError(what: string): WebSocketError {
    const waited = this.#option === "sendTimeout"
      ? `the data waited ${this.#timeout} ms in the send queue`
      : `no data arrived within ${this.#timeout} ms`;
    return new WebSocketError(
      `${what} timed out: ${waited} (${this.#option})`,
      { status: WebSocketStatus.Timeout },
    );
  }
}
