/**
 * What a processor needs to reach sockets held by other processes: ids for
 * its sockets, the sockets of each user, the subscriptions that follow local
 * membership (a room's channel from its first local member to its last),
 * publication of what it sends, delivery of what the others publish, and
 * the presence of each room across processes. Without a backplane it keeps
 * users only, and gives a socket an id when one is asked for.
 *
 * Presence: a process announces its member count (and users) of a room on
 * the room's channel at the end of each turn in which it changed, asks the
 * others for theirs when it joins the room, repeats its announcements every
 * 10 s, and forgets a process it has not heard from for 35 s (one that
 * crashed). A process knows the presence of the rooms it holds members of.
 *
 * @module
 */

import type { Backplane, Publication } from "./backplane.ts";
import {
  type Envelope,
  MAX_PRESENCE_USERS,
  type Presence,
} from "./envelope.ts";
import { checkTarget, type Target } from "./target.ts";
import { WebSocketError, WebSocketStatus } from "../errors.ts";
import { PreparedMessage } from "../prepared_message.ts";
import type { MessageData, SendData, SendOptions } from "../socket/types.ts";
import type { Socket } from "../socket/socket.ts";

/** The processor's side of the link. */
export interface LinkHost {
  /** The local members of a room. */
  members(room: string): Iterable<Socket>;
  /** Every local socket. */
  sockets(): Iterable<Socket>;
  /** How many local members a room has. */
  count(room: string): number;
  /** The rooms with local members. */
  rooms(): Iterable<string>;
  /** Tells that the members of a room across processes are now `members`. */
  counted(room: string, members: number): void;
  /** Sends to local sockets, leaving out `except`, with the processor's slow-consumer policy. */
  deliver(
    sockets: Iterable<Socket>,
    data: MessageData,
    except: Socket | undefined,
  ): void;
}

const HEARTBEAT = 10_000;
const EXPIRY = 35_000;

/** What a process announced for a room, and when it was heard. */
interface Heard extends Presence {
  readonly at: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Links a processor to a backplane (or to nothing). Internal. */
export class ProcessorLink {
  readonly backplane: Backplane | undefined;
  readonly #host: LinkHost;
  readonly #totalOrder: (room: string) => boolean;
  readonly #prefix: string;
  readonly #ids = new Map<Socket, string>();
  readonly #byId = new Map<string, Socket>();
  readonly #userOf = new Map<Socket, string>();
  readonly #users = new Map<string, Set<Socket>>();
  #next = 0;
  // Presence: room -> origin -> what it announced last.
  readonly #heard = new Map<string, Map<string, Heard>>();
  // Rooms to announce at the end of this turn, and whether to ask.
  readonly #dirty = new Map<string, boolean>();
  readonly #counts = new Map<string, number>();
  #flush: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(
    backplane: Backplane | undefined,
    host: LinkHost,
    totalOrder: boolean | ((room: string) => boolean) = false,
  ) {
    if (
      totalOrder !== false && backplane !== undefined && !backplane.totalOrder
    ) {
      throw new TypeError(
        "totalOrder needs a backplane that gives every process one order (RedisBackplane); this one has none",
      );
    }
    this.backplane = backplane;
    this.#totalOrder = typeof totalOrder === "function"
      ? totalOrder
      : () => totalOrder;
    this.#host = host;
    this.#prefix = backplane?.id ?? "local";
    if (backplane !== undefined) {
      backplane.onMessage((envelope) => this.#arrive(envelope));
      backplane.subscribe({ kind: "all" });
      // Back from an outage: what the others announced meanwhile was lost.
      backplane.onEvent((event) => {
        if (event.type !== "state" || event.state !== "ready") return;
        for (const room of this.#host.rooms()) this.#announce(room, true);
      });
    }
  }

  /** Checks a room name before a join when rooms reach other processes. */
  checkRoom(room: string): void {
    if (this.backplane !== undefined) checkTarget({ kind: "room", name: room });
  }

  /**
   * Records a new socket's user and, with a backplane, gives the socket its
   * id (others may address it as soon as it is known).
   */
  added(socket: Socket, user: string | undefined): void {
    if (user !== undefined) checkTarget({ kind: "user", name: user });
    if (this.backplane !== undefined) this.idOf(socket);
    if (user === undefined) return;
    this.#userOf.set(socket, user);
    let sockets = this.#users.get(user);
    if (sockets === undefined) {
      sockets = new Set();
      this.#users.set(user, sockets);
      this.backplane?.subscribe({ kind: "user", name: user });
    }
    sockets.add(socket);
  }

  /** Forgets a socket that ended. */
  removed(socket: Socket): void {
    const id = this.#ids.get(socket);
    if (id !== undefined) {
      this.#ids.delete(socket);
      this.#byId.delete(id);
      this.backplane?.unsubscribe({ kind: "socket", name: id });
    }
    const user = this.#userOf.get(socket);
    if (user === undefined) return;
    this.#userOf.delete(socket);
    const sockets = this.#users.get(user);
    sockets?.delete(socket);
    if (sockets?.size === 0) {
      this.#users.delete(user);
      this.backplane?.unsubscribe({ kind: "user", name: user });
    }
  }

  /**
   * Follows a room's local size: subscribed from its first member to its
   * last, announced to the others, counted.
   */
  roomChanged(room: string, members: number): void {
    const backplane = this.backplane;
    if (backplane !== undefined) {
      const target = { kind: "room", name: room } as const;
      if (members === 0) {
        backplane.unsubscribe(target);
        this.#heard.delete(room);
        this.#announce(room, false);
      } else if (!backplane.subscribed(target)) {
        backplane.subscribe(target);
        this.#announce(room, true);
      } else {
        this.#announce(room, false);
      }
      this.#beat();
    }
    this.#count(room);
  }

  /** The members of a room in every process (this one's, without a backplane). */
  clusterCount(room: string): number {
    let members = this.#host.count(room);
    for (const heard of this.#heard.get(room)?.values() ?? []) {
      members += heard.members;
    }
    return members;
  }

  /** The distinct users of a room's members in every process. */
  clusterUsers(room: string): string[] {
    const users = new Set<string>();
    for (const socket of this.#host.members(room)) {
      const user = this.#userOf.get(socket);
      if (user !== undefined) users.add(user);
    }
    for (const heard of this.#heard.get(room)?.values() ?? []) {
      for (const user of heard.users) users.add(user);
    }
    return [...users];
  }

  /**
   * The id of a live socket of this processor, given on first request: most
   * sockets never need one, and an id costs a string and two map entries.
   */
  idOf(socket: Socket): string {
    let id = this.#ids.get(socket);
    if (id === undefined) {
      id = `${this.#prefix}:${++this.#next}`;
      this.#ids.set(socket, id);
      this.#byId.set(id, socket);
      this.backplane?.subscribe({ kind: "socket", name: id });
    }
    return id;
  }

  /** The socket of this processor with the id `id`. */
  socket(id: string): Socket | undefined {
    return this.#byId.get(id);
  }

  /** The user of a socket, if it has one. */
  userOf(socket: Socket): string | undefined {
    return this.#userOf.get(socket);
  }

  /** The local sockets of a user. */
  userSockets(user: string): Socket[] {
    return [...(this.#users.get(user) ?? [])];
  }

  /**
   * Publishes a message for the other processes (nothing without a
   * backplane). A failed publication is counted and reported by the
   * backplane; local delivery does not wait for it.
   */
  publish(
    target: Target,
    data: SendData | MessageData | PreparedMessage,
    options: SendOptions & { except?: Socket | undefined },
  ): void {
    if (this.backplane === undefined) return;
    void this.backplane.publish(this.#publication(target, data, options));
  }

  /** Whether a room's messages go through the broker to its local members too. */
  inOrder(room: string): boolean {
    return this.backplane?.totalOrder === true && this.#totalOrder(room);
  }

  /**
   * Publishes a message for a room in total order: `local` serves this
   * process's members when the broker hands the message back, in the order
   * every process sees (or at once, when the backplane cannot give it
   * back). Resolves with what `local` resolved.
   */
  publishInOrder<R>(
    room: string,
    data: SendData | MessageData | PreparedMessage,
    options: SendOptions & { except?: Socket | undefined },
    local: (payload: string | Uint8Array) => Promise<R>,
  ): Promise<R> {
    const served = Promise.withResolvers<R>();
    const publication = this.#publication(
      { kind: "room", name: room },
      data,
      options,
    );
    // The caller may reuse its buffer before the message comes back.
    const payload = typeof publication.data === "string"
      ? publication.data
      : publication.data.slice();
    void this.backplane?.publish({
      ...publication,
      data: payload,
      echo: () => served.resolve(local(payload)),
    });
    return served.promise;
  }

  #publication(
    target: Target,
    data: SendData | MessageData | PreparedMessage,
    options: SendOptions & { except?: Socket | undefined },
  ): Publication {
    if (options.endOfMessage === false) {
      throw new WebSocketError(
        "A message part cannot be sent to other processes: send whole messages",
        { status: WebSocketStatus.InvalidState },
      );
    }
    const payload = data instanceof PreparedMessage
      ? toPayload(data.data, data.type)
      : toPayload(data, options.type);
    const except = options.except === undefined
      ? undefined
      : this.#ids.get(options.except);
    return except === undefined
      ? { target, data: payload }
      : { target, except, data: payload };
  }

  #heardFrom(origin: string, room: string, presence: Presence): void {
    let heard = this.#heard.get(room);
    if (presence.members === 0) {
      heard?.delete(origin);
    } else {
      if (heard === undefined) {
        heard = new Map();
        this.#heard.set(room, heard);
      }
      heard.set(origin, { ...presence, at: Date.now() });
    }
    if (presence.ask && this.#host.count(room) > 0) this.#announce(room, false);
    this.#count(room);
  }

  /** Announces the room's local presence at the end of this turn. */
  #announce(room: string, ask: boolean): void {
    this.#dirty.set(room, ask || (this.#dirty.get(room) ?? false));
    this.#flush ??= setTimeout(() => this.#announceNow(), 0);
  }

  /**
   * Hands the announcements still waiting for the end of this turn to the
   * backplane now: at shutdown, so that the others learn this process's
   * members left before the backplane is closed.
   */
  flush(): void {
    if (this.#flush === undefined) return;
    clearTimeout(this.#flush);
    this.#announceNow();
  }

  #announceNow(): void {
    this.#flush = undefined;
    const backplane = this.backplane;
    if (backplane === undefined) return;
    for (const [room, ask] of this.#dirty) {
      const users = new Set<string>();
      let members = 0;
      for (const socket of this.#host.members(room)) {
        members++;
        const user = this.#userOf.get(socket);
        if (user !== undefined && users.size < MAX_PRESENCE_USERS) {
          users.add(user);
        }
      }
      void backplane.publish({
        target: { kind: "room", name: room },
        data: "",
        presence: { members, users: [...users], ask },
      });
    }
    this.#dirty.clear();
  }

  /** Repeats announcements and forgets the silent while there are rooms. */
  #beat(): void {
    const rooms = [...this.#host.rooms()];
    if (rooms.length === 0) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
      return;
    }
    if (this.#heartbeat !== undefined) return;
    this.#heartbeat = setInterval(() => {
      const now = Date.now();
      for (const [room, heard] of this.#heard) {
        for (const [origin, { at }] of heard) {
          if (now - at > EXPIRY) heard.delete(origin);
        }
        this.#count(room);
      }
      for (const room of this.#host.rooms()) this.#announce(room, false);
    }, HEARTBEAT);
    // Announcements never keep a process alive by themselves.
    Deno.unrefTimer(this.#heartbeat);
  }

  #count(room: string): void {
    const members = this.clusterCount(room);
    if (this.#counts.get(room) === members) return;
    if (members === 0) this.#counts.delete(room);
    else this.#counts.set(room, members);
    try {
      this.#host.counted(room, members);
    } catch (error) {
      console.error("socketry: onClusterCount failed:", error);
    }
  }

  #arrive(envelope: Envelope): void {
    const { target } = envelope;
    if (envelope.presence !== undefined && target.kind === "room") {
      return this.#heardFrom(envelope.origin, target.name, envelope.presence);
    }
    const except = envelope.except === undefined
      ? undefined
      : this.#byId.get(envelope.except);
    switch (target.kind) {
      case "all":
        return this.#host.deliver(this.#host.sockets(), envelope.data, except);
      case "room":
        return this.#host.deliver(
          this.#host.members(target.name),
          envelope.data,
          except,
        );
      case "user":
        return this.#host.deliver(
          this.#users.get(target.name) ?? [],
          envelope.data,
          except,
        );
      case "socket": {
        const socket = this.#byId.get(target.name);
        if (socket !== undefined) {
          this.#host.deliver([socket], envelope.data, undefined);
        }
      }
    }
  }
}

/** The envelope payload for what `send()` accepts: a string for text, bytes for binary. */
function toPayload(
  data: SendData | MessageData,
  type: "text" | "binary" | undefined,
): string | Uint8Array {
  if (typeof data === "string") {
    return type === "binary" ? encoder.encode(data) : data;
  }
  const bytes = data instanceof Uint8Array
    ? data
    : ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
  if (type !== "text") return bytes;
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new WebSocketError("A text message must be valid UTF-8", {
      status: WebSocketStatus.InvalidPayload,
      cause,
    });
  }
}
