/**
 * The publications Redis has not acknowledged yet, and how long it has
 * kept silent about them. Redis answers the commands of one connection in
 * order, so the oldest is the one it answers next. A Redis that answers
 * nothing while publications wait has stopped (a slow command, a fork, a
 * frozen process); one that answers slowly through a long backlog has not.
 *
 * @module
 */

/** Send times of publications in flight, oldest first. */
export class Unacknowledged {
  #times: number[] = [];
  #head = 0;
  #lastAnswer = -Infinity;

  /** How many wait for Redis. */
  get size(): number {
    return this.#times.length - this.#head;
  }

  /** Records a publication sent at `time` (`performance.now()`). */
  sent(time: number): void {
    this.#times.push(time);
  }

  /** Takes the oldest off: Redis answered it (or it failed) at `time`. */
  settled(time: number): void {
    if (this.size === 0) return;
    this.#lastAnswer = time;
    this.#head++;
    // Cut the answered part off once it is most of the array.
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * How long, at `now`, Redis has answered nothing while a publication
   * waited: since the oldest was sent or since the last answer, whichever
   * came later; 0 when none waits.
   */
  silence(now: number): number {
    if (this.size === 0) return 0;
    return now - Math.max(this.#times[this.#head]!, this.#lastAnswer);
  }
}
