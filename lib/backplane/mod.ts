/**
 * The backplane seam and the backplanes that need no third-party package:
 * the interface, targets, the wire envelope and the `BroadcastChannel`
 * backplane. The Redis backplane has an entry point of its own.
 *
 * @module
 */

export type {
  Backplane,
  BackplaneEvent,
  BackplaneHandler,
  BackplaneState,
  BackplaneStats,
  Publication,
} from "./backplane.ts";
export {
  BroadcastChannelBackplane,
  type BroadcastChannelBackplaneOptions,
} from "./broadcast_channel.ts";
export {
  decodeEnvelope,
  type DecodeResult,
  encodeEnvelope,
  type Envelope,
  MAX_PRESENCE_USERS,
  type Presence,
} from "./envelope.ts";
export {
  checkTarget,
  MAX_NAME_LENGTH,
  nameProblem,
  type Target,
  targetKey,
  type TargetKind,
} from "./target.ts";
