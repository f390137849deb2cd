/**
 * Bundles the browser client (`lib/browser/mod.ts`) with esbuild into
 * `dist/socketry.browser.js`: one ES module, minified, with a source map
 * beside it. Prints the sizes, minified and gzipped.
 *
 *     deno task build        (or: npm run build)
 *
 * `--check` builds in memory and fails if `dist/` differs from the sources
 * (dist/ is committed so that the examples serve `/socketry.js` on a fresh
 * clone without a build step).
 *
 * @module
 */

import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The bundle's files, by path relative to the repository. */
export interface BrowserBundle {
  /** `dist/socketry.browser.js`. */
  readonly code: string;
  /** `dist/socketry.browser.js.map`. */
  readonly map: string;
}

/** The paths the bundle is written to, relative to the repository. */
export const BUNDLE_PATH = "dist/socketry.browser.js";
export const MAP_PATH = `${BUNDLE_PATH}.map`;

/** Builds the bundle in memory. */
export async function buildBrowserBundle(): Promise<BrowserBundle> {
  try {
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ["lib/browser/mod.ts"],
      outfile: BUNDLE_PATH,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      sourcemap: "linked",
      legalComments: "none",
      write: false,
      logLevel: "warning",
    });
    const text = (suffix: string) =>
      result.outputFiles.find((file) => file.path.endsWith(suffix))!.text;
    return { code: text(".js"), map: text(".js.map") };
  } finally {
    await esbuild.stop();
  }
}

/** The gzipped size of `text`, in bytes, at the default level. */
export async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return (await new Response(stream).arrayBuffer()).byteLength;
}

if (import.meta.main) {
  const bundle = await buildBrowserBundle();
  if (Deno.args.includes("--check")) {
    const stale = [
      [BUNDLE_PATH, bundle.code],
      [MAP_PATH, bundle.map],
    ].filter(([path, text]) => {
      try {
        return Deno.readTextFileSync(`${ROOT}${path}`) !== text;
      } catch {
        return true;
      }
    });
    if (stale.length > 0) {
      console.error(
        `Out of date: ${
          stale.map(([path]) => path).join(", ")
        }; run deno task build`,
      );
      Deno.exit(1);
    }
  } else {
    await Deno.mkdir(`${ROOT}dist`, { recursive: true });
    await Deno.writeTextFile(`${ROOT}${BUNDLE_PATH}`, bundle.code);
    await Deno.writeTextFile(`${ROOT}${MAP_PATH}`, bundle.map);
  }
  const bytes = new TextEncoder().encode(bundle.code).byteLength;
  console.log(
    `${BUNDLE_PATH}: ${bytes} bytes minified, ${await gzipSize(
      bundle.code,
    )} bytes gzipped`,
  );
}
