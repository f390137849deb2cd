/**
 * The `message` listeners of a socket, called directly rather than through
 * `dispatchEvent`: delivering a message is the hot path, and `EventTarget`'s
 * dispatch costs as much as the rest of it.
 *
 * @module
 */

import type { MessageData } from "./types.ts";

type Listener = EventListenerOrEventListenerObject;

/** A listener added with `once`. */
class Once {
  constructor(readonly callback: Listener) {}
}

/** A listener as kept: as it was given, or wrapped when added with `once`. */
type Entry = Listener | Once;

function callbackOf(entry: Entry): Listener {
  return entry instanceof Once ? entry.callback : entry;
}

/** A list of `message` listeners with `EventTarget`'s semantics. */
export class MessageListeners {
  // Most sockets have a single listener: it is kept as it is, with no array
  // and no record around it. Several go into an array that is replaced,
  // never changed, so a dispatch can go through it as it was.
  #single: Entry | undefined;
  #several: readonly Entry[] | undefined;

  /**
   * Adds `listener` unless it is already there; `once` removes it after its
   * first call, `signal` when it aborts. Returns false, adding nothing,
   * when `signal` has already aborted.
   */
  add(
    listener: Listener,
    once: boolean,
    signal: AbortSignal | undefined,
  ): boolean {
    if (signal?.aborted) return false;
    const entries = this.#entries();
    if (entries.some((entry) => callbackOf(entry) === listener)) return true;
    const entry = once ? new Once(listener) : listener;
    if (entries.length === 0) this.#single = entry;
    else {
      // A new array of the exact length (concat, not push or spread, which
      // reserve room for 17).
      this.#several = entries.concat([entry]);
      this.#single = undefined;
    }
    signal?.addEventListener("abort", () => this.remove(listener), {
      once: true,
    });
    return true;
  }

  /** Removes `listener`, if it is there. */
  remove(listener: Listener | null): void {
    const entries = this.#entries();
    const index = entries.findIndex((entry) => callbackOf(entry) === listener);
    if (index === -1) return;
    const rest = entries.filter((_, i) => i !== index);
    this.#single = rest.length === 1 ? rest[0] : undefined;
    this.#several = rest.length > 1 ? rest : undefined;
  }

  /**
   * Calls every listener with a `message` event for `data`, as `target`:
   * those there when the dispatch began.
   */
  dispatch(target: EventTarget, data: MessageData): void {
    const single = this.#single;
    if (single !== undefined) {
      this.#call(single, target, new MessageEvent("message", { data }));
      return;
    }
    const several = this.#several;
    if (several === undefined) return;
    const event = new MessageEvent("message", { data });
    for (const entry of several) this.#call(entry, target, event);
  }

  #entries(): readonly Entry[] {
    return this.#several ?? (this.#single === undefined ? [] : [this.#single]);
  }

  #call(entry: Entry, target: EventTarget, event: MessageEvent): void {
    const callback = callbackOf(entry);
    if (callback !== entry) this.remove(callback);
    try {
      if (typeof callback === "function") {
        // One call signature: with @types/node 26 loaded, EventListener
        // has two and call() would check against Node's Event.
        const listener: (this: EventTarget, event: Event) => void = callback;
        listener.call(target, event);
      } else callback.handleEvent(event);
    } catch (error) {
      // As EventTarget does: a throwing listener is reported, not propagated.
      reportError(error);
    }
  }
}
