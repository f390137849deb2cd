/**
 * A cookie jar for the client (RFC 6265, the parts a WebSocket handshake
 * uses): it keeps what `Set-Cookie` headers of handshake responses set and
 * gives the `Cookie` header for the next request to a URL. The rules are
 * tough-cookie's, with the public suffix list: a server cannot set a cookie
 * for `co.uk` or `github.io` and so reach every site under it.
 *
 * This entry point is the only one that loads an npm package for cookies
 * (`tough-cookie`); the client itself takes any `CookieStore`.
 *
 * @example Keep a session across sockets
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionHandler } from "@socketry/socketry/client";
 * import { CookieJar } from "@socketry/socketry/cookies";
 *
 * const jar = new CookieJar();
 * const handler = new ConnectionHandler({ cookies: jar });
 * // Every connect(url, { handler }) now stores and sends the jar's cookies.
 * jar.store("wss://example.com/login", ["session=abc; Path=/; Secure"]);
 * assert.equal(jar.header("wss://example.com/chat"), "session=abc");
 * assert.equal(handler.cookies, jar);
 * ```
 *
 * @module
 */

import {
  Cookie as ToughCookie,
  cookieCompare,
  CookieJar as ToughCookieJar,
  MemoryCookieStore,
} from "tough-cookie";
import type { CookieStore } from "./cookie_store.ts";

/** One stored cookie. */
export interface Cookie {
  /** The cookie's name. */
  readonly name: string;
  /** The cookie's value. */
  readonly value: string;
  /** The host (host-only cookies) or domain it is sent to. */
  readonly domain: string;
  /** Whether it goes only to `domain` itself, not to its subdomains. */
  readonly hostOnly: boolean;
  /** The path prefix it is sent under. */
  readonly path: string;
  /** When it expires (ms since the epoch); `undefined` for a session cookie. */
  readonly expires: number | undefined;
  /** Whether it goes only over `wss:`/`https:`. */
  readonly secure: boolean;
  /** Whether the server marked it HttpOnly (it is still sent). */
  readonly httpOnly: boolean;
}

/**
 * Stores cookies from handshake responses and sends them back to matching
 * URLs, by the rules of RFC 6265 and the public suffix list (as browsers
 * do; the implementation is npm's `tough-cookie`). Share one jar between sockets (or through a
 * {@linkcode ConnectionHandler}) to keep a session.
 *
 * @example Store a cookie and send it back
 * ```ts
 * import { CookieJar } from "@socketry/socketry/cookies";
 *
 * const jar = new CookieJar();
 * jar.store("wss://example.com/ws", ["session=abc; Path=/; Secure; HttpOnly"]);
 * console.log(jar.header("wss://example.com/ws")); // "session=abc"
 * console.log(jar.header("ws://example.com/ws")); // "" (the cookie is Secure)
 * ```
 */
export class CookieJar implements CookieStore {
  readonly #store = new MemoryCookieStore();
  readonly #jar = new ToughCookieJar(this.#store, {
    rejectPublicSuffixes: true,
    looseMode: false,
  });
  readonly #now: () => number;

  /** Creates an empty jar; `now` is the clock used for expiry. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Stores the cookies of `Set-Cookie` header values received from `url`.
   * Values that are malformed, set a cookie for another domain or for a
   * public suffix (`Domain=co.uk`), or are `Secure` from an insecure URL are
   * ignored, as browsers do.
   */
  store(url: string | URL, setCookies: Iterable<string>): void {
    const target = String(url);
    const now = new Date(this.#now());
    for (const line of setCookies) {
      const cookie = ToughCookie.parse(line, { loose: false });
      if (cookie === undefined) continue;
      // Max-Age counts from receipt (RFC 6265 §5.2.2); tough-cookie would
      // count it from the last access, so it becomes a date here.
      if (typeof cookie.maxAge === "number") {
        cookie.expires = new Date(
          cookie.maxAge <= 0 ? 0 : now.getTime() + cookie.maxAge * 1000,
        );
        cookie.maxAge = null;
      }
      const stored = this.#jar.setCookieSync(cookie, target, {
        now,
        ignoreError: true,
      });
      // An expired cookie deletes its namesake and is not kept itself.
      if (stored !== undefined && expiry(stored)! <= now.getTime()) {
        this.#remove(stored);
      }
    }
  }

  /** The cookies that go to `url`, longest path first. */
  cookies(url: string | URL): Cookie[] {
    const now = this.#now();
    // Expiry is checked here, on the jar's clock: tough-cookie's is Date.now.
    const found = this.#jar.getCookiesSync(String(url), {
      http: true,
      expire: false,
    }) ?? [];
    const live: ToughCookie[] = [];
    for (const cookie of found) {
      const expires = expiry(cookie);
      if (expires === undefined || expires > now) live.push(cookie);
      else this.#remove(cookie);
    }
    return live.sort(cookieCompare).map((cookie) => ({
      name: cookie.key,
      value: cookie.value,
      domain: cookie.domain!,
      hostOnly: cookie.hostOnly !== false,
      path: cookie.path!,
      expires: expiry(cookie),
      secure: cookie.secure,
      httpOnly: cookie.httpOnly,
    }));
  }

  /** The `Cookie` header value for a request to `url`, or `""` when none. */
  header(url: string | URL): string {
    return this.cookies(url).map(({ name, value }) => `${name}=${value}`)
      .join("; ");
  }

  /** How many cookies the jar holds (expired ones included until next use). */
  get size(): number {
    let count = 0;
    this.#store.getAllCookies((_error, cookies) => {
      count = cookies?.length ?? 0;
    });
    return count;
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#jar.removeAllCookiesSync();
  }

  #remove(cookie: ToughCookie): void {
    // The memory store calls back at once.
    this.#store.removeCookie(
      cookie.domain!,
      cookie.path!,
      cookie.key,
      () => {},
    );
  }
}

/** When a stored cookie expires (ms since the epoch), or `undefined` for a session cookie. */
function expiry(cookie: ToughCookie): number | undefined {
  const time = cookie.expiryTime();
  return time === undefined || !Number.isFinite(time) ? undefined : time;
}
