/**
 * The chat's rooms: which room a request asks for, delivery of every message
 * to every member of its room (the sender included), and the statistics a
 * page may ask for.
 *
 * The wire rule: a socket receives exactly the messages sent in its room,
 * unchanged, in the one order the server relayed them, and nothing else.
 * A socket opened with `?stats=1` asks for more, and then also gets the
 * room's statistics as text messages that start with a NUL character
 * (`"\u0000"` followed by JSON: `{"members":3}` when the membership changes,
 * `{"members":3,"deliveries":120,"at":1733234567000}` every second, the
 * first one with `"history"`, the deliveries per second of the last 60 s).
 * On such a socket alone, a text message that itself starts with NUL gets
 * one more NUL in front, so the two never mix up.
 *
 * With a backplane, a room spans every process sharing it: each message
 * reaches every member in every process once, and the statistics count the
 * whole room (members in every process; deliveries are each message of the
 * room times the room's members).
 *
 * @module
 */

import {
  type Backplane,
  type Envelope,
  type MessageData,
  type ServerMetrics,
  type Socket,
  SocketProcessor,
} from "../../mod.ts";

/** The room a socket joins when its URL names none. */
export const DEFAULT_ROOM = "lobby";

const ROOM_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const STATS_PREFIX = "\u0000";
// Besides its room, a socket is in one of two groups: the watchers of the
// room's statistics, or the others. A text starting with NUL goes to each
// group as that group must see it, so that every process (which sees only
// what is published to a group) sends each member the right form. Room
// names cannot hold a space, so these groups never meet a room.
const STATS_GROUP = "stats ";
const PLAIN_GROUP = "plain ";
const HISTORY_SECONDS = 60;

/** The room and options a WebSocket request asks for, or why it cannot. */
export type RoomRequest =
  | { readonly ok: true; readonly room: string; readonly stats: boolean }
  | { readonly ok: false; readonly reason: string };

/** Reads `?room=` (default `lobby`) and `?stats=1` of a request URL. */
export function roomRequest(url: URL): RoomRequest {
  const room = url.searchParams.get("room") ?? DEFAULT_ROOM;
  if (!ROOM_NAME.test(room)) {
    return {
      ok: false,
      reason: `Bad room name ${
        quote(room)
      }: a room name is 1 to 64 letters, digits, "-", "_" or "."`,
    };
  }
  return { ok: true, room, stats: url.searchParams.get("stats") === "1" };
}

/** The start of a name as printable ASCII, quoted. */
function quote(name: string): string {
  return JSON.stringify(name.slice(0, 80)).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The 400 answer to a request for a bad room. */
export function badRoom(reason: string): Response {
  return new Response(reason + "\n", {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

interface RoomCounts {
  /** Deliveries in the second under way. */
  current: number;
  /** Deliveries per second, oldest first, at most 60. */
  readonly history: number[];
}

/** Options of {@linkcode Chat}. */
export interface ChatOptions {
  /** Shares the rooms with the other processes on this backplane. */
  backplane?: Backplane;
  /**
   * Gives each room one order of messages in every process (the
   * processor's `totalOrder`; the backplane must have one).
   */
  totalOrder?: boolean;
  /** Counts the groups and the broadcasts a full send queue refused. */
  metrics?: ServerMetrics;
}

/** Rooms on one processor, with their delivery counts. */
export class Chat {
  /** The processor that holds every socket; shut it down to stop. */
  readonly processor: SocketProcessor;
  readonly #counts = new Map<string, RoomCounts>();
  readonly #membersChanged = new Set<string>();
  #flush: ReturnType<typeof setTimeout> | undefined;
  readonly #ticker: ReturnType<typeof setInterval>;
  readonly #stopCounting: () => void;

  constructor(options: ChatOptions = {}) {
    const { backplane, totalOrder = false, metrics } = options;
    this.processor = new SocketProcessor({
      ...(backplane === undefined ? {} : { backplane }),
      ...(metrics === undefined ? {} : { metrics }),
      totalOrder,
      // The room's members in every process (this one's without a backplane).
      onClusterCount: (group) => {
        if (group.includes(" ")) return;
        this.#membersChanged.add(group);
        this.#flush ??= setTimeout(() => this.#sendMembers(), 50);
      },
    });
    this.#stopCounting =
      backplane?.onMessage((envelope) => this.#arrived(envelope)) ?? (() => {});
    this.#ticker = setInterval(() => this.#tick(), 1000);
  }

  /**
   * Takes a socket into its room and relays what it sends; resolves with
   * the socket's completion.
   */
  add(socket: Socket, room: string, stats: boolean): Promise<unknown> {
    const done = this.processor.add(socket);
    // Message events run as each message arrives, so the relay order is
    // the arrival order, and each member's send queue keeps it.
    socket.addEventListener("message", ({ data }) => this.#relay(room, data));
    this.processor.join(socket, room);
    this.processor.join(socket, (stats ? STATS_GROUP : PLAIN_GROUP) + room);
    if (stats) this.#sendStats(socket, room, true);
    return done;
  }

  /** Stops the statistics timers; `processor.shutdown()` closes the sockets. */
  close(): void {
    clearInterval(this.#ticker);
    clearTimeout(this.#flush);
    this.#stopCounting();
  }

  #relay(room: string, data: MessageData): void {
    const counts = this.#countsOf(room);
    // Members in other processes get it through the backplane.
    const remote = this.processor.clusterCount(room) -
      this.processor.count(room);
    const count = ({ sent }: { sent: number }) =>
      counts.current += sent + remote;
    if (typeof data !== "string" || !data.startsWith(STATS_PREFIX)) {
      this.processor.sendToGroup(room, data).then(count);
      return;
    }
    this.processor.sendToGroup(PLAIN_GROUP + room, data).then(({ sent }) =>
      counts.current += sent
    );
    this.processor.sendToGroup(STATS_GROUP + room, STATS_PREFIX + data).then(
      count,
    );
  }

  /** Counts a message of a room that another process relayed. */
  #arrived({ target, presence }: Envelope): void {
    if (presence !== undefined || target.kind !== "room") return;
    // A text starting with NUL comes once per group: count the watchers'.
    const room = target.name.startsWith(STATS_GROUP)
      ? target.name.slice(STATS_GROUP.length)
      : target.name;
    if (room.includes(" ") || this.processor.count(room) === 0) return;
    this.#countsOf(room).current += this.processor.clusterCount(room);
  }

  #countsOf(room: string): RoomCounts {
    let counts = this.#counts.get(room);
    if (counts === undefined) {
      counts = { current: 0, history: [] };
      this.#counts.set(room, counts);
    }
    return counts;
  }

  #tick(): void {
    for (const [room, counts] of this.#counts) {
      counts.history.push(counts.current);
      if (counts.history.length > HISTORY_SECONDS) counts.history.shift();
      counts.current = 0;
      if (this.processor.count(room) === 0) {
        this.#counts.delete(room);
        continue;
      }
      for (const socket of this.processor.members(STATS_GROUP + room)) {
        this.#sendStats(socket, room, false);
      }
    }
  }

  #sendStats(socket: Socket, room: string, first: boolean): void {
    const counts = this.#countsOf(room);
    const stats = {
      members: this.processor.clusterCount(room),
      deliveries: counts.history.at(-1) ?? 0,
      at: Date.now(),
      ...(first ? { history: counts.history } : {}),
    };
    socket.send(STATS_PREFIX + JSON.stringify(stats)).catch(() => {});
  }

  #sendMembers(): void {
    this.#flush = undefined;
    for (const room of this.#membersChanged) {
      const message = STATS_PREFIX +
        JSON.stringify({ members: this.processor.clusterCount(room) });
      // Each process tells its own watchers: not through the backplane.
      for (const socket of this.processor.members(STATS_GROUP + room)) {
        socket.send(message).catch(() => {});
      }
    }
    this.#membersChanged.clear();
  }
}
