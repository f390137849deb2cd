/**
 * What the client asks of a cookie store: take in the `Set-Cookie` headers
 * of a handshake response, give the `Cookie` header of the next request.
 *
 * @module
 */

/**
 * A cookie store for the client's `cookies` option. `CookieJar`, from
 * `@socketry/socketry/cookies`, is one that follows RFC 6265 and the public
 * suffix list; any object with these two methods will do.
 *
 * @example A store that keeps cookies for one trusted server
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CookieStore } from "@socketry/socketry/client";
 *
 * // Names and values only: enough for a single server you trust.
 * class SessionCookies implements CookieStore {
 *   readonly #values = new Map<string, string>();
 *   store(_url: string | URL, setCookies: Iterable<string>): void {
 *     for (const line of setCookies) {
 *       const [pair = ""] = line.split(";");
 *       const at = pair.indexOf("=");
 *       if (at > 0) this.#values.set(pair.slice(0, at).trim(), pair.slice(at + 1));
 *     }
 *   }
 *   header(_url: string | URL): string {
 *     return [...this.#values].map(([name, value]) => `${name}=${value}`)
 *       .join("; ");
 *   }
 * }
 * const cookies = new SessionCookies();
 * cookies.store("wss://example.com/ws", ["session=abc; Path=/; HttpOnly"]);
 * assert.equal(cookies.header("wss://example.com/ws"), "session=abc");
 * ```
 */
export interface CookieStore {
  /** Takes in the `Set-Cookie` header values of a response from `url`. */
  store(url: string | URL, setCookies: Iterable<string>): void;
  /** The `Cookie` header value for a request to `url`, or `""` for none. */
  header(url: string | URL): string;
}

/** Whether `value` has the methods of a {@linkcode CookieStore}. */
export function isCookieStore(value: unknown): value is CookieStore {
  return typeof value === "object" && value !== null &&
    typeof (value as CookieStore).store === "function" &&
    typeof (value as CookieStore).header === "function";
}
