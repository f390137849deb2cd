/**
 * Runs tasks one after another, in the order they were given, each starting
 * once the one before it has settled. With nothing pending a task runs at
 * once, synchronously: the common case costs one call, not a promise.
 *
 * @module
 */

/** A task of a {@linkcode SerialQueue}: synchronous, or settling later. */
export type SerialTask = () => void | Promise<void>;

/**
 * Tasks in order. A task that throws or rejects fails only its own
 * {@linkcode SerialQueue.run} call; the tasks after it still run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SerialQueue } from "./serial_queue.ts";
 *
 * const queue = new SerialQueue();
 * const order: string[] = [];
 * const slow = queue.run(async () => {
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 *   order.push("slow");
 * });
 * queue.run(() => {
 *   order.push("quick");
 * });
 * assert.equal(queue.size, 2);
 * await slow;
 * await queue.run(() => {});
 * assert.deepEqual(order, ["slow", "quick"]);
 * ```
 */
export class SerialQueue {
  #tail: Promise<void> | undefined;
  #size = 0;

  /** Tasks given and not yet settled, the running one included. */
  get size(): number {
    return this.#size;
  }

  /**
   * Runs `task` after every task given before it. With none pending it runs
   * now: a synchronous task then returns nothing (and its exception
   * propagates); otherwise the result settles as the task does.
   */
  run(task: SerialTask): void | Promise<void> {
    if (this.#size === 0) {
      const result = task();
      return result instanceof Promise ? this.#track(result) : undefined;
    }
    return this.#track(this.#tail!.then(task));
  }

  #track(result: Promise<void>): Promise<void> {
    this.#size++;
    const settled = () => {
      if (--this.#size === 0) this.#tail = undefined;
    };
    this.#tail = result.then(settled, settled);
    return result;
  }
}
