/**
 * A process's own publications it asked to get back from the broker, for
 * rooms in total order: each one is handed to its callback exactly once,
 * when it comes back (in the order every subscriber sees) or, when it
 * cannot come back, locally at once.
 *
 * One connection publishes and one subscribes, so a process's publications
 * come back in the order it made them: when one arrives, those published
 * before it that have not arrived never will (published to a channel whose
 * subscription was not in place yet, after a reconnection) and go out first.
 *
 * @module
 */

/**
 * How long an echo may take before it is served locally (after one more
 * check, up to a quarter of this later): the last one lost has no later one
 * to reveal it.
 */
export const ECHO_TIMEOUT = 2000;

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
   * Publication `seq` came back: serves it, after those published before it
   * that did not. False when it was not awaited (served already).
   */
  arrived(seq: number): boolean {
    if (!this.#pending.has(seq)) return false;
    for (const [earlier, { callback }] of this.#pending) {
      this.#pending.delete(earlier);
      call(callback);
      if (earlier === seq) break;
    }
    return true;
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
    this.#timer = setTimeout(() => this.#tick(), ECHO_TIMEOUT / 4);
    // Waiting for echoes never keeps a process alive by itself.
    Deno.unrefTimer(this.#timer);
  }

  /**
   * Serves the echoes that were overdue at the previous tick already: a
   * busy event loop runs a late timer before the arrivals that waited as
   * long, and between two ticks those arrivals have had their turn.
   */
  #tick(): void {
    this.#timer = undefined;
    const due = performance.now() - ECHO_TIMEOUT;
    let overdue = 0;
    for (const [seq, { callback, at }] of this.#pending) {
      if (at > due) break;
      if (seq <= this.#overdue) {
        this.#pending.delete(seq);
        call(callback);
      } else {
        overdue = seq;
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
