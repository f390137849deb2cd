/**
 * A process's own publications it asked to get back from the broker, for
 * rooms in total order: each one is handed to its callback exactly once,
 * when it comes back (in the order every subscriber sees) or, when it
 * cannot come back, locally at once.
 *
 * One connection publishes and one subscribes (or, on the BroadcastChannel
 * backplane, one listener sees every post), so a process's publications
 * come back in the order it made them: when one arrives, those published
 * before it that have not arrived never will (published to a channel whose
 * subscription was not in place yet, after a reconnection), and they go out
 * first. Under load the echoes queue behind each other, but they keep
 * arriving; a timer serves what is left only once nothing of this process's
 * own has arrived for a while.
 *
 * @module
 */

/**
 * How long the echoes may be silent before those waiting longer are served
 * locally (after one more check, up to a quarter of this later): the last
 * one lost has no later one to reveal it.
 */
export const ECHO_TIMEOUT = 5000;

interface Pending {
  readonly callback: () => void;
  readonly at: number;
}

/** The echoes a backplane waits for. Internal. */
export class Echoes {
  // Insertion order is sequence order.
  readonly #pending = new Map<number, Pending>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  // The last sequence number found overdue at the previous tick.
  #overdue = 0;
  // When the last of this process's own publications came back.
  #heard = 0;
  readonly #timeout: number;

  /** `timeout`: how long echoes may be silent (tests shorten it). */
  constructor(timeout = ECHO_TIMEOUT) {
    this.#timeout = timeout;
  }

  /** How many are awaited. */
  get size(): number {
    return this.#pending.size;
  }

  /** Waits for publication `seq` to come back. */
  expect(seq: number, callback: () => void): void {
    this.#pending.set(seq, { callback, at: performance.now() });
    this.#arm();
  }

  /**
   * This process's publication `seq` came back: serves those published
   * before it that did not (they never will), then it, if it was awaited.
   * False when it was not (served already, or not asked for).
   */
  arrived(seq: number): boolean {
    this.#heard = performance.now();
    for (const [earlier, { callback }] of this.#pending) {
      if (earlier > seq) break;
      this.#pending.delete(earlier);
      call(callback);
      if (earlier === seq) return true;
    }
    return false;
  }

  /** Publication `seq` will not come back (it failed): serves it now. */
  failed(seq: number): void {
    const pending = this.#pending.get(seq);
    if (pending === undefined) return;
    this.#pending.delete(seq);
    call(pending.callback);
  }

  /** Nothing more will come back (the link went down, or closed): serves all, in order. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [seq, { callback }] of this.#pending) {
      this.#pending.delete(seq);
      call(callback);
    }
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => this.#tick(), this.#timeout / 4);
    // Waiting for echoes never keeps a process alive by itself.
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Once no echo has arrived for the timeout, serves those waiting longer
   * that were overdue at the previous tick already: a busy event loop runs
   * a late timer before the arrivals that waited as long, and between two
   * ticks those arrivals have had their turn.
   */
  #tick(): void {
    this.#timer = undefined;
    const due = performance.now() - this.#timeout;
    let overdue = 0;
    // While echoes keep arriving, those waiting are queued behind them.
    if (this.#heard <= due) {
      for (const [seq, { callback, at }] of this.#pending) {
        if (at > due) break;
        if (seq <= this.#overdue) {
          this.#pending.delete(seq);
          call(callback);
        } else {
          overdue = seq;
        }
      }
    }
    this.#overdue = overdue;
    this.#arm();
  }
}

function call(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    console.error("socketry: backplane echo handler failed:", error);
  }
}
