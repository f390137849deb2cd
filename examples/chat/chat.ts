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
 * @module
 */

import { type MessageData, type Socket, SocketProcessor } from "../../mod.ts";

/** The room a socket joins when its URL names none. */
export const DEFAULT_ROOM = "lobby";

const ROOM_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const STATS_PREFIX = "\u0000";
// Room names cannot hold a space, so these groups never meet a room.
const STATS_GROUP = "stats ";
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

/** Rooms on one processor, with their delivery counts. */
export class Chat {
  /** The processor that holds every socket; shut it down to stop. */
  readonly processor: SocketProcessor;
  readonly #counts = new Map<string, RoomCounts>();
  readonly #membersChanged = new Set<string>();
  #flush: ReturnType<typeof setTimeout> | undefined;
  readonly #ticker: ReturnType<typeof setInterval>;

  constructor() {
    this.processor = new SocketProcessor({
      onGroupChange: ({ group }) => {
        if (group.startsWith(STATS_GROUP)) return;
        this.#membersChanged.add(group);
        this.#flush ??= setTimeout(() => this.#sendMembers(), 50);
      },
    });
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
    if (stats) {
      this.processor.join(socket, STATS_GROUP + room);
      this.#sendStats(socket, room, true);
    }
    return done;
  }

  /** Stops the statistics timers; `processor.shutdown()` closes the sockets. */
  close(): void {
    clearInterval(this.#ticker);
    clearTimeout(this.#flush);
  }

  #relay(room: string, data: MessageData): void {
    const counts = this.#countsOf(room);
    const escape = typeof data === "string" && data.startsWith(STATS_PREFIX) &&
      this.processor.count(STATS_GROUP + room) > 0;
    if (!escape) {
      this.processor.sendToGroup(room, data).then(({ sent }) =>
        counts.current += sent
      );
      return;
    }
    const escaped = STATS_PREFIX + data;
    const watchers = new Set(this.processor.members(STATS_GROUP + room));
    for (const socket of this.processor.members(room)) {
      socket.send(watchers.has(socket) ? escaped : data).then(
        () => counts.current++,
        () => {},
      );
    }
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
      members: this.processor.count(room),
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
        JSON.stringify({ members: this.processor.count(room) });
      this.processor.sendToGroup(STATS_GROUP + room, message);
    }
    this.#membersChanged.clear();
  }
}
