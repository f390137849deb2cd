/**
 * Fair shares of reading between connections. Under Deno a `node:net`
 * socket whose peer keeps sending reads again as soon as it delivered a
 * chunk, and that read completes at once, in a microtask: a few busy
 * connections can go on reading for seconds within one turn of the event
 * loop while the reads of every other connection wait for the turn to end.
 * Each connection therefore reads at most {@linkcode READS_PER_TURN} times
 * per turn; past that it pauses until the turn ends (an immediate runs
 * once pending microtasks are done), and the others get their reads in.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** The reads one connection may deliver in one turn of the event loop. */
export const READS_PER_TURN = 1;

let turn = 0;
let ending = false;
let waiting: (() => void)[] = [];

function endTurn(): void {
  ending = false;
  turn++;
  const resumes = waiting;
  waiting = [];
  for (const resume of resumes) resume();
}

/**
 * One connection's count of reads in the current turn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReadTurns } from "./read_turns.ts";
 *
 * const turns = new ReadTurns();
 * assert.equal(turns.read(), true);
 * assert.equal(turns.read(), false); // a second read in the same turn
 * await new Promise<void>((resolve) => ReadTurns.afterTurn(resolve));
 * assert.equal(turns.read(), true); // a new turn, a new share
 * ```
 */
export class ReadTurns {
  #turn = -1;
  #reads = 0;

  /**
   * Counts a read: true while it is within this connection's share of the
   * turn, false once it went past it (the reader should wait for
   * {@linkcode ReadTurns.afterTurn}).
   */
  read(): boolean {
    if (!ending) {
      ending = true;
      setImmediate(endTurn);
    }
    if (this.#turn !== turn) {
      this.#turn = turn;
      this.#reads = 0;
    }
    return ++this.#reads <= READS_PER_TURN;
  }

  /** Calls `resume` once the current turn of the event loop has ended. */
  static afterTurn(resume: () => void): void {
    if (!ending) {
      ending = true;
      setImmediate(endTurn);
    }
    waiting.push(resume);
  }
}
