/**
 * Answers the browser client's heartbeats on the server (the `heartbeat`
 * server option): a text message of exactly `"\u0000socketry:ping"` is
 * answered with `"\u0000socketry:pong"` and never reaches the application.
 *
 * @module
 */

import { HEARTBEAT_PING, HEARTBEAT_PONG } from "../browser/heartbeat.ts";
import type { MessageType, Socket } from "../socket/mod.ts";

const PING = new TextEncoder().encode(HEARTBEAT_PING);

/**
 * Whether `piece`, after the `held` bytes, continues a heartbeat (or, when
 * `final`, completes one).
 */
function continuesPing(
  held: Uint8Array | undefined,
  piece: Uint8Array,
  final: boolean,
): boolean {
  const offset = held?.byteLength ?? 0;
  const total = offset + piece.byteLength;
  if (total > PING.byteLength || (final && total !== PING.byteLength)) {
    return false;
  }
  for (let i = 0; i < piece.byteLength; i++) {
    if (piece[i] !== PING[offset + i]) return false;
  }
  return true;
}

/**
 * The constructor of a backend's socket; `any[]` is what TypeScript
 * requires of a class that a mixin extends.
 */
// deno-lint-ignore no-explicit-any
type SocketClass = new (...args: any[]) => Socket;

/**
 * Extends a backend's socket class so that it answers heartbeats itself.
 * A heartbeat split over several pieces (fragments, or a frame cut across
 * reads) is recognised too: the first bytes of a text message that could
 * still be one are held back until it is decided, then passed on unchanged
 * if it is not.
 */
export function answeringHeartbeats<T extends SocketClass>(Base: T): T {
  abstract class AnsweringHeartbeats extends Base {
    /** The first bytes of a text message that may be a heartbeat. */
    #held: Uint8Array | undefined;
    /** Inside a message already known not to be one. */
    #passing = false;

    protected override handleData(
      type: MessageType,
      payload: string | Uint8Array,
      final: boolean,
      hold?: () => () => void,
    ): void {
      if (this.#passing || type !== "text") {
        this.#passing = !final;
        return super.handleData(type, payload, final, hold);
      }
      const held = this.#held;
      if (held === undefined && final && typeof payload === "string") {
        if (payload === HEARTBEAT_PING) return this.#answer();
        return super.handleData(type, payload, final, hold);
      }
      const piece = typeof payload === "string"
        ? new TextEncoder().encode(payload)
        : payload;
      this.#held = undefined;
      if (continuesPing(held, piece, final)) {
        if (final) return this.#answer();
        const joined = new Uint8Array(
          (held?.byteLength ?? 0) + piece.byteLength,
        );
        if (held !== undefined) joined.set(held);
        joined.set(piece, held?.byteLength ?? 0);
        this.#held = joined;
        return;
      }
      this.#passing = !final;
      if (held !== undefined) super.handleData(type, held, false);
      super.handleData(type, payload, final, hold);
    }

    #answer(): void {
      // A socket closing meanwhile refuses the send; nothing is owed then.
      this.send(HEARTBEAT_PONG).catch(() => {});
    }
  }
  // Abstract only to the type checker: Base is concrete, and so is this.
  return AnsweringHeartbeats as unknown as T;
}
