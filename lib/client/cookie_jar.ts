/**
 * A cookie jar for the client (RFC 6265, the parts a WebSocket handshake
 * uses): it keeps what `Set-Cookie` headers of handshake responses set and
 * gives the `Cookie` header for the next request to a URL.
 *
 * @module
 */

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
 * URLs. Share one jar between sockets (or through a
 * {@linkcode ConnectionHandler}) to keep a session.
 *
 * @example Store a cookie and send it back
 * ```ts
 * import { CookieJar } from "@socketry/socketry";
 *
 * const jar = new CookieJar();
 * jar.store("wss://example.com/ws", ["session=abc; Path=/; Secure; HttpOnly"]);
 * console.log(jar.header("wss://example.com/ws")); // "session=abc"
 * console.log(jar.header("ws://example.com/ws")); // "" (the cookie is Secure)
 * ```
 */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();
  readonly #now: () => number;

  /** Creates an empty jar; `now` is the clock used for expiry. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Stores the cookies of `Set-Cookie` header values received from `url`.
   * Values that are malformed, or set a cookie for another domain, are
   * ignored, as browsers do.
   */
  store(url: string | URL, setCookies: Iterable<string>): void {
    const target = new URL(url);
    for (const line of setCookies) {
      const cookie = parseSetCookie(line, target, this.#now());
      if (cookie === undefined) continue;
      const key = `${cookie.domain};${cookie.path};${cookie.name}`;
      if (cookie.expires !== undefined && cookie.expires <= this.#now()) {
        this.#cookies.delete(key);
      } else this.#cookies.set(key, cookie);
    }
  }

  /** The cookies that go to `url`, longest path first. */
  cookies(url: string | URL): Cookie[] {
    const target = new URL(url);
    const host = hostOf(target);
    const secure = target.protocol === "wss:" || target.protocol === "https:";
    const now = this.#now();
    const matching: Cookie[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (cookie.expires !== undefined && cookie.expires <= now) {
        this.#cookies.delete(key);
        continue;
      }
      if (cookie.secure && !secure) continue;
      if (
        cookie.hostOnly
          ? host !== cookie.domain
          : !domainMatch(host, cookie.domain)
      ) continue;
      if (!pathMatch(target.pathname, cookie.path)) continue;
      matching.push(cookie);
    }
    return matching.sort((a, b) => b.path.length - a.path.length);
  }

  /** The `Cookie` header value for a request to `url`, or `""` when none. */
  header(url: string | URL): string {
    return this.cookies(url).map(({ name, value }) => `${name}=${value}`)
      .join("; ");
  }

  /** How many cookies the jar holds (expired ones included until next use). */
  get size(): number {
    return this.#cookies.size;
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies.clear();
  }
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

function domainMatch(host: string, domain: string): boolean {
  return host === domain ||
    (host.endsWith(`.${domain}`) && !/^[\d.]+$|:/.test(host));
}

function pathMatch(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

function defaultPath(url: URL): string {
  const path = url.pathname;
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

function parseSetCookie(
  line: string,
  url: URL,
  now: number,
): Cookie | undefined {
  const [pair = "", ...attributes] = line.split(";");
  const equals = pair.indexOf("=");
  if (equals <= 0) return undefined;
  const name = pair.slice(0, equals).trim();
  const value = pair.slice(equals + 1).trim();
  if (name === "") return undefined;
  const host = hostOf(url);
  let domain = host;
  let hostOnly = true;
  let path = defaultPath(url);
  let expires: number | undefined;
  let maxAge: number | undefined;
  let secure = false;
  let httpOnly = false;
  for (const attribute of attributes) {
    const split = attribute.indexOf("=");
    const key = (split === -1 ? attribute : attribute.slice(0, split)).trim()
      .toLowerCase();
    const argument = split === -1 ? "" : attribute.slice(split + 1).trim();
    switch (key) {
      case "domain": {
        const wanted = argument.replace(/^\./, "").toLowerCase();
        if (wanted === "") break;
        if (!domainMatch(host, wanted)) return undefined;
        // A bare top-level name (Domain=com) would reach every site under it.
        if (!wanted.includes(".") && wanted !== host) return undefined;
        domain = wanted;
        hostOnly = false;
        break;
      }
      case "path":
        if (argument.startsWith("/")) path = argument;
        break;
      case "expires": {
        const time = Date.parse(argument);
        if (!Number.isNaN(time)) expires = time;
        break;
      }
      case "max-age":
        if (/^-?\d+$/.test(argument)) maxAge = Number(argument);
        break;
      case "secure":
        secure = true;
        break;
      case "httponly":
        httpOnly = true;
        break;
    }
  }
  if (maxAge !== undefined) expires = now + maxAge * 1000;
  return { name, value, domain, hostOnly, path, expires, secure, httpOnly };
}
