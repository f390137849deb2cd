/**
 * What a socketry server counts: connections, handshakes, messages and
 * bytes, closes, drops, limit hits and the backplane's state.
 *
 * @module
 */

import type { Backplane, BackplaneState } from "../backplane/backplane.ts";
import type { Socket, SocketClosed } from "../socket/mod.ts";
import { type MetricFamily, Metrics } from "./metrics.ts";

/**
 * Why a handshake was refused: `handshake` (not a valid WebSocket
 * handshake: 400, 404, 426), `origin` (403), `authorize` (the `authorize`
 * check answered with a response), `authorize_error` (it threw: 500),
 * `address_limit` (429), `server_limit` (503).
 */
export type RefusalReason =
  | "handshake"
  | "origin"
  | "authorize"
  | "authorize_error"
  | "address_limit"
  | "server_limit";

/** The limits that count their hits. */
export type LimitName =
  | "messages_per_second"
  | "bytes_per_second"
  | "connections_per_address"
  | "connections";

/** A plain copy of a server's metrics at one moment. */
export interface ServerMetricsSnapshot {
  /** Sockets accepted and not yet ended. */
  readonly connectionsOpen: number;
  /** Handshakes answered with an upgrade. */
  readonly handshakesAccepted: number;
  /** Handshakes refused, by reason. */
  readonly handshakesRefused: Readonly<Partial<Record<RefusalReason, number>>>;
  /** Messages received, by every socket, open or ended. */
  readonly messagesReceived: number;
  /** Messages sent. */
  readonly messagesSent: number;
  /** Payload bytes received. */
  readonly bytesReceived: number;
  /** Payload bytes sent. */
  readonly bytesSent: number;
  /** Ended sockets by close code and ending, such as `"1000 close"`. */
  readonly closes: Readonly<Record<string, number>>;
  /** Messages dropped because a socket's send queue was full. */
  readonly sendQueueDrops: number;
  /** Messages dropped by a rate limit with the `drop` policy. */
  readonly messagesDropped: number;
  /** Times each limit was hit. */
  readonly limitHits: Readonly<Partial<Record<LimitName, number>>>;
  /** The backplane's state, when one is watched. */
  readonly backplane: BackplaneState | undefined;
  /**
   * Groups (rooms) with at least one member in this process, over every
   * processor given these metrics; `undefined` when none was.
   */
  readonly groups: number | undefined;
}

/** What the metrics read of a processor: its groups (rooms). */
export interface GroupHolder {
  /** The groups with at least one member. */
  groups(): readonly string[];
}

const TRAFFIC = [
  [
    "messagesReceived",
    "socketry_messages_received_total",
    "Messages received.",
  ],
  ["messagesSent", "socketry_messages_sent_total", "Messages sent."],
  ["bytesReceived", "socketry_received_bytes_total", "Payload bytes received."],
  ["bytesSent", "socketry_sent_bytes_total", "Payload bytes sent."],
] as const;

type Traffic = Record<(typeof TRAFFIC)[number][0], number>;

const STATES: readonly BackplaneState[] = ["connecting", "ready", "down"];

/**
 * The metrics of one or more servers. Pass it as the `metrics` option of
 * {@linkcode webSockets} or {@linkcode serveEngine} and it counts by itself;
 * read it with {@linkcode ServerMetrics.snapshot} or serve it with
 * {@linkcode metricsHandler}. Messages and bytes include the sockets still
 * open, so the counters grow while a socket lives.
 *
 * @example
 * ```ts
 * import { ServerMetrics } from "@socketry/socketry";
 *
 * const metrics = new ServerMetrics();
 * metrics.refused("authorize", 401);
 * console.log(metrics.snapshot().handshakesRefused.authorize); // 1
 * ```
 */
export class ServerMetrics {
  /** The registry behind these metrics; add your own to it. */
  readonly registry: Metrics;
  readonly #open = new Set<Socket>();
  readonly #ended: Traffic = {
    messagesReceived: 0,
    messagesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
  readonly #accepted;
  readonly #refused;
  readonly #closes;
  readonly #drops;
  readonly #dropped;
  readonly #limits;
  #backplane: Backplane | undefined;
  readonly #groupHolders = new Set<GroupHolder>();

  /** Creates the metrics, in `registry` if given. */
  constructor(registry: Metrics = new Metrics()) {
    this.registry = registry;
    this.#accepted = registry.counter(
      "socketry_handshakes_accepted_total",
      "WebSocket handshakes answered with an upgrade.",
    );
    this.#refused = registry.counter(
      "socketry_handshakes_refused_total",
      "WebSocket handshakes refused, by reason and HTTP status.",
    );
    this.#closes = registry.counter(
      "socketry_closes_total",
      "Sockets ended, by close code and by how they ended.",
    );
    this.#drops = registry.counter(
      "socketry_send_queue_drops_total",
      "Messages not sent because a socket's send queue was full.",
    );
    this.#dropped = registry.counter(
      "socketry_messages_dropped_total",
      "Received messages dropped by a rate limit.",
    );
    this.#limits = registry.counter(
      "socketry_limit_hits_total",
      "Times a limit was hit, by limit.",
    );
    registry.collect(() => this.#collect());
  }

  /** Counts an accepted socket and follows it until it ends. */
  track(socket: Socket): void {
    this.#accepted.inc();
    this.#open.add(socket);
    socket.closed.then((outcome) => this.#end(socket, outcome));
  }

  /** Counts a refused handshake. */
  refused(reason: RefusalReason, status: number): void {
    this.#refused.inc({ reason, status: String(status) });
  }

  /** Counts a hit of `limit`. */
  limitHit(limit: LimitName): void {
    this.#limits.inc({ limit });
  }

  /** Counts a received message dropped by a rate limit. */
  messageDropped(): void {
    this.#dropped.inc();
  }

  /** Counts a message not sent because a send queue was full. */
  sendQueueDrop(): void {
    this.#drops.inc();
  }

  /**
   * Reports this backplane's state and counters along with the rest, its
   * subscriptions and the time the broker takes to acknowledge a
   * publication (`socketry_backplane_publish_latency_seconds`).
   */
  watchBackplane(backplane: Backplane): void {
    this.#backplane = backplane;
  }

  /**
   * Counts this processor's groups (rooms) in `socketry_groups`, summed
   * over every processor watched. Returns the function that stops
   * watching it. A `SocketProcessor` given these metrics as its `metrics`
   * option calls both itself, the second when its shutdown is done, so
   * that processors made and shut down one after another are not kept.
   */
  watchProcessor(processor: GroupHolder): () => void {
    this.#groupHolders.add(processor);
    return () => void this.#groupHolders.delete(processor);
  }

  /** Every metric, for {@linkcode prometheusText}. */
  read(): MetricFamily[] {
    return this.registry.read();
  }

  /** The numbers as a plain object. */
  snapshot(): ServerMetricsSnapshot {
    const closes: Record<string, number> = {};
    for (const { labels, value } of this.#closes.read().samples) {
      closes[`${labels.code} ${labels.ending}`] = value;
    }
    const refused: Record<string, number> = {};
    for (const { labels, value } of this.#refused.read().samples) {
      refused[labels.reason!] = (refused[labels.reason!] ?? 0) + value;
    }
    return {
      connectionsOpen: this.#open.size,
      handshakesAccepted: this.#accepted.get(),
      handshakesRefused: refused,
      ...this.#traffic(),
      closes,
      sendQueueDrops: this.#drops.get(),
      messagesDropped: this.#dropped.get(),
      limitHits: Object.fromEntries(
        this.#limits.read().samples.map((
          { labels, value },
        ) => [labels.limit, value]),
      ),
      backplane: this.#backplane?.state,
      groups: this.#groups(),
    };
  }

  #groups(): number | undefined {
    if (this.#groupHolders.size === 0) return undefined;
    let groups = 0;
    for (const holder of this.#groupHolders) groups += holder.groups().length;
    return groups;
  }

  #end(socket: Socket, outcome: SocketClosed): void {
    this.#open.delete(socket);
    const stats = socket.stats;
    for (const [field] of TRAFFIC) this.#ended[field] += stats[field];
    this.#closes.inc({ code: String(outcome.code), ending: outcome.ending });
  }

  #traffic(): Traffic {
    const total = { ...this.#ended };
    for (const socket of this.#open) {
      const stats = socket.stats;
      for (const [field] of TRAFFIC) total[field] += stats[field];
    }
    return total;
  }

  #collect(): MetricFamily[] {
    const traffic = this.#traffic();
    const families: MetricFamily[] = [
      {
        name: "socketry_connections_open",
        help: "Sockets accepted and not yet ended.",
        type: "gauge",
        samples: [{ labels: {}, value: this.#open.size }],
      },
      ...TRAFFIC.map(([field, name, help]): MetricFamily => ({
        name,
        help,
        type: "counter",
        samples: [{ labels: {}, value: traffic[field] }],
      })),
    ];
    const groups = this.#groups();
    if (groups !== undefined) {
      families.push({
        name: "socketry_groups",
        help: "Groups (rooms) with at least one member in this process.",
        type: "gauge",
        samples: [{ labels: {}, value: groups }],
      });
    }
    const backplane = this.#backplane;
    if (backplane !== undefined) {
      const stats = backplane.stats;
      families.push(
        {
          name: "socketry_backplane_state",
          help: "The backplane's link state: 1 for the current state.",
          type: "gauge",
          samples: STATES.map((state) => ({
            labels: { state },
            value: backplane.state === state ? 1 : 0,
          })),
        },
        ...([
          ["published", "Messages handed to the broker."],
          ["publishFailures", "Messages that could not be published."],
          ["received", "Messages from other processes delivered."],
          ["malformed", "Arrivals that were not valid envelopes."],
          ["lost", "Messages known to be lost on the way."],
        ] as const).map(([field, help]): MetricFamily => ({
          name: `socketry_backplane_${snake(field)}_total`,
          help,
          type: "counter",
          samples: [{ labels: {}, value: stats[field] }],
        })),
        {
          name: "socketry_backplane_subscriptions",
          help: "Channels this process is subscribed to.",
          type: "gauge",
          samples: [{ labels: {}, value: stats.subscriptions }],
        },
        {
          name: "socketry_backplane_publish_latency_seconds",
          help:
            "How long the broker takes to acknowledge a publication (a moving average; 0 without acknowledgements).",
          type: "gauge",
          samples: [{ labels: {}, value: stats.publishLatency / 1000 }],
        },
      );
    }
    return families;
  }
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
