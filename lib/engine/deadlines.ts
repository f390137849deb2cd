/**
 * Deadlines of any length, shared by the whole process on one timer armed
 * for the earliest. A timer per connection costs about 1.2 KB of memory and
 * a set and a clear per connection; an entry here costs a small object and
 * a place in a binary min-heap.
 *
 * Each entry remembers its place in the heap, so cancelling removes it at
 * once (O(log n)) instead of leaving it behind to be skipped later: there is
 * no garbage to bound, and the timer is cleared as soon as the last deadline
 * goes.
 *
 * @module
 */

/** Not in the heap. */
const IDLE = -1;
/** Taken out of the heap because it is due, and not yet called back. */
const DUE = -2;

/**
 * Something to call back at a time. Extend it and give it to a
 * {@linkcode Deadlines}; one entry is in a scheduler at most once.
 */
export abstract class Deadline {
  /** When it is due, in `Date.now()` milliseconds; set by {@linkcode Deadlines.schedule}. */
  at = 0;
  /** Its place in the scheduler's heap, or a negative mark when not in it. */
  slot: number = IDLE;

  /** Whether it waits to be called back. */
  get scheduled(): boolean {
    return this.slot !== IDLE;
  }

  /** Called once when due; by then it is no longer scheduled. */
  abstract expire(): void;
}

/**
 * A binary min-heap of deadlines on one unref'd timer: a process is not kept
 * alive by deadlines alone. A callback that throws does not stop the others:
 * its error is reported with `reportError` (an uncaught error, as from a
 * timer callback) once the others have run and the timer is re-armed.
 */
export class Deadlines {
  readonly #heap: Deadline[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  /** How many deadlines wait to be called back. */
  get size(): number {
    return this.#heap.length;
  }

  /** Whether a timer is armed (only while some deadline is scheduled). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Calls `deadline.expire()` at `at` (`Date.now()` milliseconds), or soon
   * after, as timers are late. Scheduling one already scheduled moves it.
   */
  schedule(deadline: Deadline, at: number): void {
    const heap = this.#heap;
    if (deadline.slot >= 0) {
      const earlier = at < deadline.at;
      deadline.at = at;
      if (earlier) this.#up(deadline.slot);
      else this.#down(deadline.slot);
    } else {
      deadline.at = at;
      deadline.slot = heap.length;
      heap.push(deadline);
      this.#up(deadline.slot);
    }
    this.#rearm();
  }

  /** Stops `deadline` from being called back; does nothing if it is not scheduled. */
  cancel(deadline: Deadline): void {
    const slot = deadline.slot;
    deadline.slot = IDLE;
    if (slot < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (slot < heap.length) {
      heap[slot] = last;
      last.slot = slot;
      if (last.at < deadline.at) this.#up(slot);
      else this.#down(slot);
    }
    this.#rearm();
  }

  // Arms the timer for the earliest deadline if it is not armed for that or
  // earlier. A timer armed for a deadline since cancelled is left to fire
  // early and re-arm, rather than cleared and set again on every cancel; but
  // with no deadline left it is cleared, so that nothing stays armed.
  #rearm(): void {
    const first = this.#heap[0];
    if (first === undefined) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#armedAt = Infinity;
      }
      return;
    }
    if (this.#timer !== undefined && this.#armedAt <= first.at) return;
    clearTimeout(this.#timer);
    this.#armedAt = first.at;
    this.#timer = setTimeout(
      () => this.#fire(),
      Math.max(0, first.at - Date.now()),
    );
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = Date.now();
    const heap = this.#heap;
    // Take out everything due first, so that a deadline scheduled by a
    // callback for now or earlier waits for the next turn of the timer
    // instead of looping here.
    const due: Deadline[] = [];
    while (heap.length > 0 && heap[0]!.at <= now) {
      const deadline = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        last.slot = 0;
        this.#down(0);
      }
      deadline.slot = DUE;
      due.push(deadline);
    }
    let errors: unknown[] | undefined;
    for (const deadline of due) {
      // A callback before it may have cancelled (or moved) it.
      if (deadline.slot !== DUE) continue;
      deadline.slot = IDLE;
      try {
        deadline.expire();
      } catch (error) {
        (errors ??= []).push(error);
      }
    }
    this.#rearm();
    if (errors !== undefined) {
      for (const error of errors) {
        reportError(error);
      }
    }
  }

  #up(slot: number): void {
    const heap = this.#heap;
    const deadline = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (parent.at <= deadline.at) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = deadline;
    deadline.slot = slot;
  }

  #down(slot: number): void {
    const heap = this.#heap;
    const deadline = heap[slot]!;
    const half = heap.length >> 1;
    while (slot < half) {
      let childSlot = 2 * slot + 1;
      let child = heap[childSlot]!;
      const right = heap[childSlot + 1];
      if (right !== undefined && right.at < child.at) {
        childSlot++;
        child = right;
      }
      if (deadline.at <= child.at) break;
      heap[slot] = child;
      child.slot = slot;
      slot = childSlot;
    }
    heap[slot] = deadline;
    deadline.slot = slot;
  }
}

/** The process's deadlines: one timer for all of them. */
export const deadlines: Deadlines = new Deadlines();
