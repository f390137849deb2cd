/**
 * The `message` listeners of a socket, called directly rather than through
 * `dispatchEvent`: delivering a message is the hot path, and `EventTarget`'s
 * dispatch costs as much as the rest of it.
 *
 * @module
 */

import type { MessageData } from "./types.ts";

interface Entry {
  readonly callback: EventListenerOrEventListenerObject;
  readonly once: boolean;
}

/** A list of `message` listeners with `EventTarget`'s semantics. */
export class MessageListeners {
  #entries: Entry[] = [];

  /**
   * Adds `listener` unless it is already there; `once` removes it after its
   * first call, `signal` when it aborts. Returns false, adding nothing,
   * when `signal` has already aborted.
   */
  add(
    listener: EventListenerOrEventListenerObject,
    once: boolean,
    signal: AbortSignal | undefined,
  ): boolean {
    if (signal?.aborted) return false;
    if (this.#entries.some((entry) => entry.callback === listener)) return true;
    // A new array of the exact length (concat, not push or spread, which
    // reserve room for 17): most sockets have a single listener.
    this.#entries = this.#entries.concat({ callback: listener, once });
    signal?.addEventListener("abort", () => this.remove(listener), {
      once: true,
    });
    return true;
  }

  /** Removes `listener`, if it is there. */
  remove(listener: EventListenerOrEventListenerObject | null): void {
    const index = this.#entries.findIndex((entry) =>
      entry.callback === listener
    );
    if (index !== -1) this.#entries.splice(index, 1);
  }

  /** Calls every listener with a `message` event for `data`, as `target`. */
  dispatch(target: EventTarget, data: MessageData): void {
    const entries = this.#entries;
    if (entries.length === 0) return;
    const event = new MessageEvent("message", { data });
    for (const entry of entries.length === 1 ? entries : [...entries]) {
      if (entry.once) this.remove(entry.callback);
      try {
        if (typeof entry.callback === "function") {
          // One call signature: with @types/node 26 loaded, EventListener
          // has two and call() would check against Node's Event.
          const listener: (this: EventTarget, event: Event) => void =
            entry.callback;
          listener.call(target, event);
        } else entry.callback.handleEvent(event);
      } catch (error) {
        // As EventTarget does: a throwing listener is reported, not propagated.
        reportError(error);
      }
    }
  }
}
