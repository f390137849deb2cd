/**
 * Controlled time and a scripted `WebSocket` for the browser client's unit
 * tests: the clock moves only when a test advances it, and each socket opens,
 * receives and closes only when a test says so.
 */

import type { Clock } from "../../lib/browser/mod.ts";

/** A clock whose timers run when {@linkcode ManualClock.advance} passes them. */
export class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    while (true) {
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (
          entry[1].at <= end &&
          (first === undefined || entry[1].at < first[1].at)
        ) {
          first = entry;
        }
      }
      if (first === undefined) break;
      this.#timers.delete(first[0]);
      this.#now = first[1].at;
      first[1].callback();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets promise callbacks (such as an async URL function) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A `WebSocket` that does what the test tells it; every one made is kept. */
export class FakeWebSocket extends EventTarget {
  static made: FakeWebSocket[] = [];
  readonly url: string;
  readonly protocols: string | string[] | undefined;
  readyState = 0;
  binaryType: BinaryType = "blob";
  protocol = "";
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  closedWith: [number | undefined, string | undefined] | undefined;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;

  constructor(url: string | URL, protocols?: string | string[]) {
    super();
    this.url = String(url);
    this.protocols = protocols;
    FakeWebSocket.made.push(this);
  }

  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error("send() while not open");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }

  /** The server accepted. */
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  /** A message from the server. */
  receive(data: string | ArrayBuffer): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** The connection ended with `code`. */
  end(code: number, reason = "", wasClean = code !== 1006): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason, wasClean }));
  }

  /** The latest socket made. */
  static get last(): FakeWebSocket {
    return FakeWebSocket.made.at(-1)!;
  }
}

/** Random numbers from a list, repeating its last. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}
