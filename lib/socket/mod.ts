/**
 * The `Socket` contract shared by every backend, from the files that hold
 * its parts: the public types, the options, and the `Socket` class itself
 * (which composes an inbox, an outbox and the web streams).
 *
 * @module
 */

export * from "./types.ts";
export {
  checkSocketOptions,
  type ResolvedSocketOptions,
  resolveSocketOptions,
} from "./options.ts";
export { Socket } from "./socket.ts";
