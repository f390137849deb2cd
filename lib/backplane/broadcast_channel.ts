/**
 * A backplane between the isolates of one process (workers, or
 * `deno serve --parallel`) over the web-standard `BroadcastChannel`: all
 * the cores of one machine, no broker.
 *
 * @module
 */

import type {
  Backplane,
  BackplaneEvent,
  BackplaneHandler,
  BackplaneState,
  BackplaneStats,
  Publication,
} from "./backplane.ts";
import { BackplaneCore } from "./backplane_core.ts";
import { checkKnownOptions, optionNames } from "../option_checks.ts";
import { OrderListener } from "./order_listener.ts";
import { checkTarget, type Target, targetKey } from "./target.ts";

/** Options of {@linkcode BroadcastChannelBackplane}. */
export interface BroadcastChannelBackplaneOptions {
  /**
   * The name shared by the isolates that form one cluster; isolates with
   * another name do not see each other. Default `"socketry"`.
   */
  channel?: string;
  /** This isolate's id on the backplane. Default: a random UUID. */
  id?: string;
  /**
   * Gives every isolate one order of publications, its own included, so
   * that rooms can have one order for all their members (the processor's
   * `totalOrder`). The isolate then receives through a small worker of its
   * own, which sees every post, this isolate's among them, in the one order
   * Deno hands them to every isolate. The cost: one worker (a thread, 9–10
   * MiB of RSS) per backplane, one more hop for every message, and the
   * state is `connecting` until the worker listens. Default false.
   */
  totalOrder?: boolean;
}

const CHANNEL_OPTIONS = optionNames<keyof BroadcastChannelBackplaneOptions>({
  channel: true,
  id: true,
  totalOrder: true,
});

/**
 * Carries messages between the isolates of one Deno process through one
 * `BroadcastChannel`. Every isolate receives every publication and keeps
 * those for the targets it subscribed to; one channel keeps each
 * publisher's messages in order. It is `ready` from the start and never
 * `down`: there is no broker to lose (with `totalOrder`, `ready` once its
 * listening worker is, and `down` if that worker fails).
 *
 * Deno's `BroadcastChannel` holds at most 256 posted messages (of all
 * channel names) that some isolate has not read yet, and an isolate that
 * falls further behind silently misses the oldest. So the publications of
 * one event-loop turn travel as one posted batch, which makes a burst of
 * thousands one message; and a receiver counts what it misses anyway (gaps
 * in a publisher's sequence numbers) in `stats.lost` and `lost` events.
 *
 * @example Two backplanes (in practice, one per worker)
 * ```ts
 * import { BroadcastChannelBackplane } from "@socketry/socketry";
 *
 * const a = new BroadcastChannelBackplane({ channel: "doc-example" });
 * const b = new BroadcastChannelBackplane({ channel: "doc-example" });
 * const lobby = { kind: "room", name: "lobby" } as const;
 * b.subscribe(lobby);
 * const arrived = new Promise((resolve) => b.onMessage((e) => resolve(e.data)));
 * await a.publish({ target: lobby, data: "hello" });
 * console.log(await arrived); // "hello"
 * await a.close();
 * await b.close();
 * ```
 *
 * @example One order for all isolates, this isolate's own posts in their place
 * ```ts
 * import { BroadcastChannelBackplane } from "@socketry/socketry";
 *
 * const backplane = new BroadcastChannelBackplane({
 *   channel: "ordered-example",
 *   totalOrder: true,
 * });
 * await backplane.ready; // its listening worker listens
 * const lobby = { kind: "room", name: "lobby" } as const;
 * backplane.subscribe(lobby);
 * const back = new Promise((resolve) => {
 *   backplane.publish({ target: lobby, data: "hi", echo: () => resolve("back") });
 * });
 * console.log(await back); // "back", in the order every isolate sees
 * await backplane.close();
 * ```
 */
export class BroadcastChannelBackplane implements Backplane {
  /**
   * Whether this isolate gets its own publications back in the order every
   * isolate sees them (the `totalOrder` option): without it, every isolate
   * sees the others' posts in one order, but cannot place its own in it.
   */
  readonly totalOrder: boolean;
  /**
   * Resolves once the backplane is ready: at once, or with `totalOrder`
   * when its listening worker listens (until then local members are served
   * at once); rejects if that worker fails first.
   */
  readonly ready: Promise<void>;
  readonly #core: BackplaneCore;
  readonly #channel: BroadcastChannel;
  readonly #name: string;
  readonly #listener: OrderListener | undefined;
  #closed = false;
  #batch: Uint8Array[] = [];
  #batchTargets: Target[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Opens the channel; the backplane is ready at once (with `totalOrder`, once its worker listens). */
  constructor(options: BroadcastChannelBackplaneOptions = {}) {
    checkKnownOptions(Object.keys(options), CHANNEL_OPTIONS);
    this.totalOrder = options.totalOrder ?? false;
    this.#core = new BackplaneCore(
      options.id,
      this.totalOrder ? "connecting" : "ready",
      true,
    );
    this.#name = `socketry:${options.channel ?? "socketry"}`;
    this.#channel = new BroadcastChannel(this.#name);
    if (!this.totalOrder) {
      this.#channel.onmessage = (event) => this.#receive(event.data);
      this.#channel.onmessageerror = () => this.#receive(null);
      this.ready = Promise.resolve();
      return;
    }
    const readied = Promise.withResolvers<void>();
    this.ready = readied.promise;
    this.ready.catch(() => {});
    // The channel only posts: everything, this isolate's posts included,
    // arrives through the listener, in one order.
    this.#listener = new OrderListener(this.#name, {
      ready: () => {
        this.#core.setState("ready");
        readied.resolve();
      },
      post: (data) => this.#receive(data),
      failed: (error) => {
        this.#core.setState("down", error);
        readied.reject(error);
      },
    });
  }

  #receive(data: unknown): void {
    if (!Array.isArray(data)) {
      return this.#core.arrive(data ?? undefined, this.#name);
    }
    for (const bytes of data) this.#core.arrive(bytes, this.#name);
  }

  /** This isolate's id: the origin of its envelopes. */
  get id(): string {
    return this.#core.id;
  }

  /** `ready` until closed, then `down`. */
  get state(): BackplaneState {
    return this.#core.state;
  }

  /** Counters since creation. */
  get stats(): BackplaneStats {
    return this.#core.stats;
  }

  /**
   * Queues the message for the batch posted at the end of this event-loop
   * turn and resolves `true` at once (a failure to post the batch is
   * counted and reported); `false` after `close()`. An `echo` is called
   * when the publication comes back through the listening worker (with
   * `totalOrder`, once it is ready), at once otherwise.
   */
  publish(publication: Publication): Promise<boolean> {
    const bytes = this.#core.encode(publication, this.#listener !== undefined);
    if (this.#closed) {
      return Promise.resolve(
        this.#core.failed(
          publication.target,
          new Error("The backplane is closed"),
        ),
      );
    }
    this.#batch.push(bytes);
    this.#batchTargets.push(publication.target);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), 0);
    }
    return Promise.resolve(true);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    const targets = this.#batchTargets;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchTargets = [];
    try {
      this.#channel.postMessage(batch);
    } catch (error) {
      // Nothing of this batch comes back.
      this.#core.echoes.flush();
      for (const target of targets) this.#core.failed(target, error);
      return;
    }
    for (let i = 0; i < batch.length; i++) this.#core.published();
  }

  /** Keeps the messages for `target` from now on. */
  subscribe(target: Target): void {
    checkTarget(target);
    this.#core.subscriptions.set(targetKey(target), target);
  }

  /** Drops the messages for `target` from now on. */
  unsubscribe(target: Target): void {
    this.#core.subscriptions.delete(targetKey(target));
  }

  /** Whether messages for `target` are kept. */
  subscribed(target: Target): boolean {
    return this.#core.subscriptions.has(targetKey(target));
  }

  /** Sets a handler of arriving messages; returns its removal. */
  onMessage(handler: BackplaneHandler): () => void {
    return this.#core.onMessage(handler);
  }

  /** Adds an event listener; returns its removal. */
  onEvent(listener: (event: BackplaneEvent) => void): () => void {
    return this.#core.onEvent(listener);
  }

  /** Closes the channel. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#flush();
      this.#closed = true;
      this.#listener?.close();
      this.#channel.close();
      this.#core.subscriptions.clear();
      this.#core.setState("down");
    }
    return Promise.resolve();
  }
}
