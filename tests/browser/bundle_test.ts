/**
 * The browser bundle: `dist/socketry.browser.js` is what the sources build
 * to today (it is committed, so it must not go stale), it stays within
 * 5 KB minified and gzipped, and it uses web standards only.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  buildBrowserBundle,
  BUNDLE_PATH,
  gzipSize,
  MAP_PATH,
} from "../../scripts/build_browser.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("the committed bundle is current, within 5 KB min+gzip, and web-standard", async () => {
  const bundle = await buildBrowserBundle();
  assert.equal(
    await Deno.readTextFile(`${ROOT}${BUNDLE_PATH}`),
    bundle.code,
    `${BUNDLE_PATH} is stale: run deno task build`,
  );
  assert.equal(
    await Deno.readTextFile(`${ROOT}${MAP_PATH}`),
    bundle.map,
    `${MAP_PATH} is stale: run deno task build`,
  );
  const gzipped = await gzipSize(bundle.code);
  console.log(
    `${BUNDLE_PATH}: ${bundle.code.length} bytes minified, ${gzipped} gzipped`,
  );
  assert.ok(gzipped <= 5 * 1024, `${gzipped} bytes gzipped`);
  assert.doesNotMatch(bundle.code, /\bDeno\.|node:|require\(/);
  assert.match(bundle.code, /^function|^var|^const|^let|^class/);
  assert.match(bundle.code, /export\{[^}]*as ReconnectingSocket[,}]/);
  assert.match(
    bundle.code,
    /\n\/\/# sourceMappingURL=socketry\.browser\.js\.map\n$/,
  );
  const map = JSON.parse(bundle.map);
  assert.ok(
    map.sources.includes("../lib/browser/reconnecting_socket.ts"),
    map.sources,
  );
});

Deno.test("lib/browser imports only its own files and the pure errors and option checks modules", async () => {
  const dir = `${ROOT}lib/browser/`;
  let imports = 0;
  for await (const entry of Deno.readDir(dir)) {
    const source = await Deno.readTextFile(`${dir}${entry.name}`);
    for (
      const [, specifier] of source.matchAll(
        /^(?:import|export|\})[^\n]*from "([^"]+)"/gm,
      )
    ) {
      imports++;
      assert.ok(
        /^\.\/[a-z_]+\.ts$/.test(specifier!) ||
          specifier === "../errors.ts" || specifier === "../option_checks.ts",
        `${entry.name} imports ${specifier}`,
      );
    }
  }
  assert.ok(imports >= 10, `only ${imports} imports found`);
  for (const shared of ["errors.ts", "option_checks.ts"]) {
    const source = await Deno.readTextFile(`${ROOT}lib/${shared}`);
    assert.doesNotMatch(source, /^import /m, shared);
  }
});
