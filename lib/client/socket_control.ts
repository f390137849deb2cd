/**
 * The settings of a message or stream socket: made before
 * `connect()`, fixed from then on. Only a message socket's message type may
 * change later.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";
import type { ConnectOptions } from "./options.ts";

/** Settings of a message or stream socket: everything `connect()` takes but the signal. */
export type SocketControlOptions = Omit<ConnectOptions, "signal">;

/**
 * Holds a socket's settings until `connect()` fixes them; `set()` after
 * that throws a `WebSocketError` with status `invalidState`.
 *
 * @example
 * ```ts
 * import { SocketControl } from "@socketry/socketry";
 *
 * const control = new SocketControl({ protocols: ["chat"] });
 * control.set({ keepAliveInterval: 10_000 });
 * control.fix();
 * try {
 *   control.set({ protocols: ["other"] });
 * } catch (error) {
 *   console.log((error as Error).message); // protocols cannot change …
 * }
 * ```
 */
export class SocketControl {
  #options: SocketControlOptions;
  #fixed = false;

  /** Starts from `options`. */
  constructor(options: SocketControlOptions = {}) {
    this.#options = { ...options };
  }

  /** The settings, as `connect()` will use them. */
  get options(): Readonly<SocketControlOptions> {
    return this.#options;
  }

  /** Whether `connect()` was called and the settings are fixed. */
  get fixed(): boolean {
    return this.#fixed;
  }

  /** Changes settings; throws once they are fixed. */
  set(changes: SocketControlOptions): void {
    if (this.#fixed) {
      const names = Object.keys(changes).join(", ") || "settings";
      throw new WebSocketError(
        `${names} cannot change after connect(): only a message socket's messageType can`,
        { status: WebSocketStatus.InvalidState },
      );
    }
    this.#options = { ...this.#options, ...changes };
  }

  /** Fixes the settings; `connect()` calls it. */
  fix(): void {
    this.#fixed = true;
  }
}
