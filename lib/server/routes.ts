/**
 * Which request paths are WebSocket routes, shared by the middleware and
 * the engine listener so that both backends route alike.
 *
 * @module
 */

import { refuse } from "./accept.ts";

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
