/**
 * The seam between a processor and the other processes that share its
 * rooms: a backplane publishes messages for a target (a room, a socket, a
 * user, everyone) and delivers what the other processes published for the
 * targets this process subscribed to. The processor knows only this
 * interface; brokers live behind it.
 *
 * @module
 */

import type { Envelope, Presence } from "./envelope.ts";
import type { Target } from "./target.ts";

/**
 * The link to the other processes: `connecting` until it first works,
 * `ready` while messages flow, `down` while the broker is unreachable
 * (local delivery goes on; publications fail and are counted).
 */
export type BackplaneState = "connecting" | "ready" | "down";

/** What a backplane counted since it was created. */
export interface BackplaneStats {
  /** Messages handed to the broker. */
  readonly published: number;
  /** Messages that could not be published (broker down, or it refused). */
  readonly publishFailures: number;
  /** Messages from other processes delivered to the handler. */
  readonly received: number;
  /** Arrivals that were not valid envelopes, dropped. */
  readonly malformed: number;
  /**
   * Messages known to be lost on the way: gaps in a publisher's sequence
   * numbers, where the backplane sees all of them (the BroadcastChannel
   * backplane); always 0 for a backplane that cannot tell.
   */
  readonly lost: number;
  /** How many targets this process is subscribed to. */
  readonly subscriptions: number;
  /**
   * How long the broker takes to acknowledge a publication, in
   * milliseconds (a moving average: the broker's lag as this process sees
   * it); 0 for a backplane without acknowledgements.
   */
  readonly publishLatency: number;
}

/** Something a backplane reports besides messages. */
export type BackplaneEvent =
  | {
    readonly type: "state";
    readonly state: BackplaneState;
    /** What took the link down, or why connecting failed this time. */
    readonly error?: unknown;
  }
  | {
    readonly type: "publishFailed";
    readonly target: Target;
    readonly error: unknown;
  }
  | {
    readonly type: "lost";
    /** The publisher whose messages went missing. */
    readonly origin: string;
    /** How many. */
    readonly count: number;
  }
  | {
    readonly type: "malformed";
    /** Where the bytes arrived (a channel name). */
    readonly channel: string;
    readonly reason: string;
  };

/** A message from another process for a target this process subscribed to. */
export type BackplaneHandler = (envelope: Envelope) => void;

/** What {@linkcode Backplane.publish} sends: the backplane adds origin and sequence number. */
export interface Publication {
  /** Who the message is for. */
  readonly target: Target;
  /** The id of a socket to leave out, usually the sender. */
  readonly except?: string;
  /** The payload: a string is a text message, bytes a binary one. */
  readonly data: string | Uint8Array;
  /** Makes this a presence announcement for a room (`data` is then ignored). */
  readonly presence?: Presence;
  /**
   * Asks for the publication back, for a room in total order: called
   * exactly once, when the broker hands the publication back to this
   * process, in the order every subscriber of the target sees it (a
   * backplane whose `totalOrder` is true), or at once when that cannot
   * happen: the link is not ready, the publication failed, the process's
   * subscription to the target is not confirmed yet, or the backplane has
   * no total order. Serve the local receivers from here.
   */
  readonly echo?: () => void;
}

/**
 * Carries messages between processes. Each process holds one backplane;
 * the backplane never delivers a process its own publications to its
 * handler, so local members are served directly and exactly once (or, for
 * a publication with `echo`, from that callback).
 *
 * @example A BroadcastChannel backplane between the isolates of a process
 * ```ts
 * import { BroadcastChannelBackplane } from "@socketry/socketry";
 *
 * const backplane = new BroadcastChannelBackplane({ channel: "chat" });
 * backplane.onMessage((envelope) => console.log(envelope.data));
 * backplane.subscribe({ kind: "room", name: "lobby" });
 * await backplane.publish({ target: { kind: "room", name: "lobby" }, data: "hi" });
 * console.log(backplane.stats.published); // 1
 * await backplane.close();
 * ```
 */
export interface Backplane {
  /** The id of this process on the backplane: the `origin` of its envelopes. */
  readonly id: string;
  /** The state of the link to the other processes. */
  readonly state: BackplaneState;
  /** Counters since creation (a fresh snapshot on each read). */
  readonly stats: BackplaneStats;
  /**
   * Whether every process subscribed to a target receives its publications
   * in one order, and can get its own back in that order (`echo`): then a
   * room can have one order of messages for all its members. Absent means
   * false.
   */
  readonly totalOrder?: boolean;
  /**
   * Publishes a message; resolves `true` once the broker took it and
   * `false` when it could not (counted in `publishFailures` and reported as
   * a `publishFailed` event). Never rejects and never waits for a broker
   * that is down. Messages of one publisher reach every subscriber in the
   * order of the `publish()` calls. Throws a `WebSocketError` only for a
   * target whose name is not allowed.
   */
  publish(publication: Publication): Promise<boolean>;
  /** Starts receiving messages for `target`; subscribing twice changes nothing. */
  subscribe(target: Target): void;
  /** Stops receiving messages for `target`. */
  unsubscribe(target: Target): void;
  /** Whether this process is subscribed to `target`. */
  subscribed(target: Target): boolean;
  /** Sets the handler of arriving messages; returns a function that removes it. */
  onMessage(handler: BackplaneHandler): () => void;
  /** Adds a listener of state changes, failures and drops; returns its removal. */
  onEvent(listener: (event: BackplaneEvent) => void): () => void;
  /** Leaves the broker: unsubscribes, closes connections, stops retrying. */
  close(): Promise<void>;
}
