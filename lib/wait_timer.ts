/**
 * Timeouts for waits that all last as long (a socket's `receiveTimeout`, or
 * its `sendTimeout`), kept on one timer that is re-armed lazily instead of
 * one timer per wait. A client reading replies waits once per message, and
 * arming and clearing a timer each time cost about 1.8 µs, more than the
 * rest of the wait.
 *
 * @module
 */

interface Wait {
  readonly deadline: number;
  readonly expire: () => void;
  active: boolean;
}

/** Past this many finished waits at the front, the queue is compacted. */
const COMPACT_AFTER = 1024;

/**
 * Expires waits `timeout` ms after they start, in the order they started
 * (all last as long, so the first wait still running is the next to
 * expire).
 */
export class WaitTimer {
  readonly #timeout: number;
  readonly #queue: Wait[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** A timer for waits of `timeout` ms (finite, non-negative). */
  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  /**
   * Calls `expire` once the wait has lasted the timeout, unless the
   * function returned is called first (calling it again does nothing).
   */
  start(expire: () => void): () => void {
    const wait: Wait = {
      deadline: performance.now() + this.#timeout,
      expire,
      active: true,
    };
    this.#queue.push(wait);
    if (this.#timer === undefined) this.#arm(this.#timeout);
    return () => {
      if (!wait.active) return;
      wait.active = false;
      this.#trim();
    };
  }

  /** Stops the timer: no wait started so far will expire. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#head = 0;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    // Timers may fire a little early: a millisecond's grace avoids re-arming
    // for a fraction of one.
    const now = performance.now() + 1;
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const wait = queue[this.#head]!;
      if (wait.active && wait.deadline > now) break;
      this.#head++;
      if (wait.active) {
        wait.active = false;
        wait.expire();
      }
    }
    this.#trim();
    const next = this.#queue[this.#head];
    if (next !== undefined && this.#timer === undefined) {
      this.#arm(Math.max(0, next.deadline - performance.now()));
    }
  }

  // Drops finished waits from the front; most waits end in the order they
  // started, so the queue stays as short as the waits still running.
  #trim(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && !queue[this.#head]!.active) {
      this.#head++;
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > queue.length) {
      queue.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
