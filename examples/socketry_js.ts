/**
 * Serves socketry's browser client to the examples' pages: the esbuild
 * bundle `dist/socketry.browser.js` (built by `deno task build`, committed
 * so that a fresh clone serves it without a build step) at `/socketry.js`,
 * and its source map beside it.
 *
 * @module
 */

import SOCKETRY_JS from "../dist/socketry.browser.js" with { type: "text" };
import SOCKETRY_JS_MAP from "../dist/socketry.browser.js.map" with {
  type: "text",
};

/**
 * The response for `pathname` if it is the bundle or its source map, or
 * `undefined`.
 *
 * @example
 * ```ts
 * import { serveSocketryJs } from "./socketry_js.ts";
 *
 * const response = serveSocketryJs("/socketry.js");
 * console.log(response?.headers.get("content-type"));
 * ```
 */
export function serveSocketryJs(pathname: string): Response | undefined {
  if (pathname === "/socketry.js") {
    return new Response(SOCKETRY_JS, {
      headers: {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  }
  if (pathname === "/socketry.browser.js.map") {
    return new Response(SOCKETRY_JS_MAP, {
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }
  return undefined;
}
