/**
 * Which request paths are WebSocket routes, shared by the middleware and
 * the engine listener so that both backends route alike.
 *
 * @module
 */

import { refuse } from "./accept.ts";

/**
 * The path of an absolute request URL, as `new URL(url).pathname` gives
 * it. Parsing a URL costs about a microsecond on every handshake; a path
 * of letters, digits, `-`, `_`, `~` and `/` reads the same parsed or not,
 * so only a path with anything else (dot segments, percent escapes,
 * characters the parser encodes) goes through the parser.
 */
export function pathnameOf(url: string): string {
  const scheme = url.indexOf("://");
  if (scheme === -1) return new URL(url).pathname;
  let start = scheme + 3;
  // The authority ends at the first "/", "?", "#" or backslash.
  while (start < url.length) {
    const code = url.charCodeAt(start);
    if (code === 47) break;
    if (code === 63 || code === 35 || code === 92) {
      return new URL(url).pathname;
    }
    start++;
  }
  let end = start;
  for (; end < url.length; end++) {
    const code = url.charCodeAt(end);
    if (code === 63 || code === 35) break;
    if (!isPlainPathCode(code)) return new URL(url).pathname;
  }
  return start === end ? "/" : url.slice(start, end);
}

// Letters, digits, "-", "_", "~" and "/".
function isPlainPathCode(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) ||
    (code >= 47 && code <= 57) || code === 45 ||
    code === 95 || code === 126;
}

/**
 * Whether `pathname` is a WebSocket route: every path when `paths` is
 * `undefined`, otherwise an exact match (no trailing-slash folding, no
 * prefix match, the query string already left out).
 */
export function isRoute(
  paths: ReadonlySet<string> | undefined,
  pathname: string,
): boolean {
  return paths === undefined || paths.has(pathname);
}

/** The 400 for a request on a WebSocket route that is not a handshake. */
export function notAHandshake(): Response {
  return refuse(
    400,
    "This route only accepts WebSocket connections (expected Upgrade: websocket)",
  );
}

/**
 * The 404 for a path that is not a route. When the path only misses or
 * adds a trailing slash, the body names the route it nearly matched:
 * routes match exactly, and that is easy to miss.
 */
export function notFound(
  paths: ReadonlySet<string> | undefined,
  pathname: string,
): Response {
  const near = pathname.endsWith("/") ? pathname.slice(0, -1) : `${pathname}/`;
  if (paths?.has(near)) {
    return refuse(
      404,
      `Not Found: ${pathname} is not a WebSocket route; routes match exactly (did you mean ${near}?)`,
    );
  }
  return refuse(404, "Not Found");
}
