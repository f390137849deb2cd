/**
 * A socket's options: their defaults and the checks that reject bad values
 * before any I/O.
 *
 * @module
 */

import { checkKnownOptions } from "../option_checks.ts";
import type { SocketOptions } from "./types.ts";

const DEFAULTS = {
  receiveBufferSize: 4096,
  maxMessageSize: 64 * 1024 * 1024,
  sendHighWaterMark: 1024 * 1024,
  maxBufferedAmount: 16 * 1024 * 1024,
  closeTimeout: 5000,
  sendTimeout: Infinity,
  receiveTimeout: Infinity,
} as const;

/** Resolved options of a socket. */
export type ResolvedSocketOptions = Required<SocketOptions>;

const NAMES: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));

/**
 * Fills in defaults and checks every option, throwing `RangeError` or
 * `TypeError` (for a name that is no socket option, too: the options of a
 * server or of an engine socket reach here once their own are taken out).
 */
export function resolveSocketOptions(
  options: SocketOptions = {},
): ResolvedSocketOptions {
  const given = definedOnly(options);
  checkKnownOptions(Object.keys(given), NAMES);
  const resolved = { ...DEFAULTS, ...given };
  for (const [name, value] of Object.entries(resolved)) {
    if (name === "sendTimeout" || name === "receiveTimeout") {
      timeoutValue(name, value);
    } else positiveInteger(name, value);
  }
  return resolved;
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

function timeoutValue(name: string, value: unknown): void {
  if (
    typeof value !== "number" || Number.isNaN(value) || value <= 0
  ) {
    throw new RangeError(
      `${name} must be a number of milliseconds > 0 or Infinity, got ${value}`,
    );
  }
}

/**
 * Checks `options` before any I/O, as {@linkcode resolveSocketOptions}
 * would, but for the names in `others`, which the caller checks itself.
 */
export function checkSocketOptions(
  options: object,
  others: ReadonlySet<string>,
): void {
  resolveSocketOptions(
    Object.fromEntries(
      Object.entries(options).filter(([name]) => !others.has(name)),
    ) as SocketOptions,
  );
}

/** Throws `RangeError` unless `value` is a positive safe integer. */
export function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
