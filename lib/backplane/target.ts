/**
 * Who a message published through a backplane is for: every socket, the
 * members of a room, one socket, or every socket of one user. Names are
 * bounded and checked here, once, for every backplane.
 *
 * @module
 */

import { WebSocketError, WebSocketStatus } from "../errors.ts";

/** The longest room name, socket id or user id, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 128;

/** The receivers of a message published through a backplane. */
export type Target =
  | { readonly kind: "all" }
  | {
    readonly kind: "room" | "socket" | "user";
    /** The room name, socket id or user id. */
    readonly name: string;
  };

/** One of the kinds of {@linkcode Target}. */
export type TargetKind = Target["kind"];

/**
 * Why `name` is not a usable room name, socket id or user id, or
 * `undefined` when it is: 1 to {@linkcode MAX_NAME_LENGTH} characters, well
 * formed (no lone surrogate), no control characters.
 *
 * @example
 * ```ts
 * import { nameProblem } from "@socketry/socketry";
 *
 * console.log(nameProblem("lobby")); // undefined
 * console.log(nameProblem("")); // "is empty"
 * ```
 */
export function nameProblem(name: string): string | undefined {
  if (typeof name !== "string") return "is not a string";
  if (name.length === 0) return "is empty";
  if (name.length > MAX_NAME_LENGTH) {
    return `is longer than ${MAX_NAME_LENGTH} characters`;
  }
  if (!name.isWellFormed()) return "holds a lone surrogate";
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    // C0 controls, DEL and C1 controls.
    if (unit < 0x20 || (unit >= 0x7f && unit <= 0x9f)) {
      return "holds a control character";
    }
  }
  return undefined;
}

/**
 * Checks a target and returns it; throws a `WebSocketError` with status
 * `policyViolation` when its name is not usable (see
 * {@linkcode nameProblem}).
 *
 * @example
 * ```ts
 * import { checkTarget } from "@socketry/socketry";
 *
 * checkTarget({ kind: "room", name: "lobby" });
 * try {
 *   checkTarget({ kind: "room", name: "a\nb" });
 * } catch (error) {
 *   console.log((error as Error).message);
 * }
 * ```
 */
export function checkTarget(target: Target): Target {
  if (target.kind === "all") return target;
  if (
    target.kind !== "room" && target.kind !== "socket" &&
    target.kind !== "user"
  ) {
    throw new WebSocketError(`Unknown target kind ${String(target.kind)}`, {
      status: WebSocketStatus.PolicyViolation,
    });
  }
  const problem = nameProblem(target.name);
  if (problem !== undefined) {
    throw new WebSocketError(
      `The ${target.kind} name ${
        JSON.stringify(String(target.name).slice(0, 40))
      } ${problem}`,
      { status: WebSocketStatus.PolicyViolation },
    );
  }
  return target;
}

/**
 * A string naming a target uniquely, `"room:lobby"` or `"all"`: the key of
 * subscription maps, and the tail of a broker's channel name.
 *
 * @example
 * ```ts
 * import { targetKey } from "@socketry/socketry";
 *
 * console.log(targetKey({ kind: "user", name: "ada" })); // "user:ada"
 * ```
 */
export function targetKey(target: Target): string {
  return target.kind === "all" ? "all" : `${target.kind}:${target.name}`;
}
