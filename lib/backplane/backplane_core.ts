/**
 * What every backplane does the same way, whatever carries its bytes: its
 * id and sequence numbers, the checks and encoding of publications, the
 * decoding and filtering of arrivals, the counters, the subscription set,
 * and the handlers and listeners.
 *
 * @module
 */

import type {
  BackplaneEvent,
  BackplaneHandler,
  BackplaneState,
  BackplaneStats,
  Publication,
} from "./backplane.ts";
import { Echoes } from "./echoes.ts";
import { decodeEnvelope, encodeEnvelope } from "./envelope.ts";
import { checkTarget, type Target, targetKey } from "./target.ts";

/** The shared state of a backplane implementation. Internal. */
export class BackplaneCore {
  readonly id: string;
  state: BackplaneState;
  readonly subscriptions = new Map<string, Target>();
  /** This process's publications it waits to get back (rooms in total order). */
  readonly echoes = new Echoes();
  #seq = 0;
  #published = 0;
  #publishFailures = 0;
  #received = 0;
  #malformed = 0;
  #lost = 0;
  #latency = 0;
  #samples = 0;
  // The last sequence number seen from each publisher, when every
  // publication passes by (one channel for all).
  readonly #last: Map<string, number> | undefined;
  readonly #handlers = new Set<BackplaneHandler>();
  readonly #listeners = new Set<(event: BackplaneEvent) => void>();

  constructor(
    id: string | undefined,
    state: BackplaneState,
    seesEverything = false,
  ) {
    this.id = id ?? crypto.randomUUID();
    // The id travels in every envelope: it obeys the rules of names.
    checkTarget({ kind: "socket", name: this.id });
    this.state = state;
    this.#last = seesEverything ? new Map() : undefined;
  }

  get stats(): BackplaneStats {
    return {
      published: this.#published,
      publishFailures: this.#publishFailures,
      received: this.#received,
      malformed: this.#malformed,
      lost: this.#lost,
      publishLatency: this.#latency,
      subscriptions: this.subscriptions.size,
    };
  }

  /** The sequence number of the last publication encoded. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Checks and encodes a publication with the next sequence number. Its
   * `echo` waits for the publication to come back when `comesBack` says it
   * will and the link is ready; otherwise it is called now.
   */
  encode(publication: Publication, comesBack = false): Uint8Array {
    const target = checkTarget(publication.target);
    if (publication.except !== undefined) {
      checkTarget({ kind: "socket", name: publication.except });
    }
    if (publication.presence !== undefined && target.kind !== "room") {
      throw new TypeError("Presence is announced for rooms only");
    }
    this.#seq++;
    const { except, presence, echo } = publication;
    const bytes = encodeEnvelope({
      origin: this.id,
      seq: this.#seq,
      target,
      data: publication.data,
      ...(except === undefined ? {} : { except }),
      ...(presence === undefined ? {} : { presence }),
    });
    if (echo !== undefined) {
      if (comesBack && this.state === "ready") {
        this.echoes.expect(this.#seq, echo);
      } else {
        echo();
      }
    }
    return bytes;
  }

  /** Counts a publication; `since` is when it was sent, if it was acknowledged. */
  published(since?: number): true {
    this.#published++;
    if (since !== undefined) {
      const sample = performance.now() - since;
      this.#latency = this.#samples++ === 0
        ? sample
        : this.#latency + (sample - this.#latency) / 16;
    }
    return true;
  }

  failed(target: Target, error: unknown): false {
    this.#publishFailures++;
    this.emit({ type: "publishFailed", target, error });
    return false;
  }

  /**
   * Takes bytes that arrived on `channel`; `expected` is the key of the
   * target that channel carries, when the channel carries only one.
   * Garbage is counted and reported, never thrown; the process's own
   * publications go to the echoes, and targets it is not subscribed to are
   * ignored.
   */
  arrive(bytes: unknown, channel: string, expected?: string): void {
    const result = decodeEnvelope(bytes as Uint8Array);
    if (!result.ok) return this.#drop(channel, result.reason);
    const envelope = result.envelope;
    const key = targetKey(envelope.target);
    if (expected !== undefined && key !== expected) {
      return this.#drop(channel, `a ${key} message on the ${expected} channel`);
    }
    if (envelope.origin === this.id) {
      this.echoes.arrived(envelope.seq);
      return;
    }
    if (this.#last !== undefined) {
      const last = this.#last.get(envelope.origin);
      if (last !== undefined && envelope.seq <= last) {
        return this.#drop(channel, "a sequence number seen before");
      }
      this.#last.set(envelope.origin, envelope.seq);
      if (last !== undefined && envelope.seq > last + 1) {
        const count = envelope.seq - last - 1;
        this.#lost += count;
        this.emit({ type: "lost", origin: envelope.origin, count });
      }
    }
    if (!this.subscriptions.has(key)) return;
    this.#received++;
    for (const handler of this.#handlers) {
      try {
        handler(envelope);
      } catch (error) {
        console.error("socketry: backplane message handler failed:", error);
      }
    }
  }

  /**
   * Changes the state; a failure is reported even when the state stays.
   * Off `ready`, nothing published comes back: the echoes are served now.
   */
  setState(state: BackplaneState, error?: unknown): void {
    if (state !== "ready") this.echoes.flush();
    if (state === this.state && error === undefined) return;
    this.state = state;
    this.emit(
      error === undefined
        ? { type: "state", state }
        : { type: "state", state, error },
    );
  }

  get hasListeners(): boolean {
    return this.#listeners.size > 0;
  }

  onMessage(handler: BackplaneHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  onEvent(listener: (event: BackplaneEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: BackplaneEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error("socketry: backplane event listener failed:", error);
      }
    }
  }

  #drop(channel: string, reason: string): void {
    this.#malformed++;
    this.emit({ type: "malformed", channel, reason });
  }
}
