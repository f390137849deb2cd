/**
 * A listener that sees a `BroadcastChannel`'s posts in the one order Deno
 * hands them to every isolate, the posts of the isolate that created it
 * included: a small worker of its own subscribes to the channel and passes
 * on everything it receives. An isolate never receives its own posts from
 * a `BroadcastChannel`; its worker, another isolate, does.
 *
 * Deno carries every post of a process through one queue that each isolate
 * reads in the same order, so what the worker passes on is in the order
 * every other isolate reads.
 *
 * @module
 */

// The worker: subscribes to the channel named in its message, says "ready"
// once subscribed (posts made after that reach it), and passes on each post
// (an array or bytes; null for one that could not be read).
const SOURCE = `
self.onmessage = ({ data }) => {
  const channel = new BroadcastChannel(data);
  channel.onmessage = (event) => self.postMessage(event.data);
  channel.onmessageerror = () => self.postMessage(null);
  self.postMessage("ready");
};
`;

/** What an {@linkcode OrderListener} reports. */
export interface OrderListenerHandlers {
  /** The worker is subscribed: posts made from now on reach it. */
  ready(): void;
  /** A post, in the channel's order (`null`: one that could not be read). */
  post(data: unknown): void;
  /** The worker failed; nothing more will come. */
  failed(error: unknown): void;
}

// One blob URL for every listener of the process.
let sourceUrl: string | undefined;

/** Receives a channel's posts, this isolate's own included, in order. Internal. */
export class OrderListener {
  readonly #worker: Worker;
  #closed = false;

  constructor(name: string, handlers: OrderListenerHandlers) {
    sourceUrl ??= URL.createObjectURL(
      new Blob([SOURCE], { type: "text/javascript" }),
    );
    this.#worker = new Worker(sourceUrl, { type: "module" });
    this.#worker.onmessage = ({ data }) => {
      if (this.#closed) return;
      if (data === "ready") handlers.ready();
      else handlers.post(data);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      if (this.#closed) return;
      this.close();
      handlers.failed(event.error ?? new Error(event.message));
    };
    this.#worker.postMessage(name);
  }

  /** Stops the worker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
  }
}
