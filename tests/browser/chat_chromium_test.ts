/**
 * The chat page in Chromium through the browser client at `/socketry.js`:
 * the server (`examples/chat/main.ts`) is killed and started again on the
 * same port; the page shows `reconnecting`, then `open`, and a message typed
 * while the server was down reaches the room once after the reconnect.
 *
 * Needs Debian's `chromium` (ignored without it unless SOCKETRY_REQUIRE_PEERS=1).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  chromiumArgs,
  chromiumPath,
  fileExists,
  peerAvailable,
} from "../helpers/peers.ts";
import { drain, freePort, withTimeout } from "../helpers/page.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

/** Starts `examples/chat/main.ts` on `port`; resolves once it listens. */
async function startChat(port: number, backend: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "examples/chat/main.ts",
      "--port",
      String(port),
      "--hostname",
      "127.0.0.1",
      "--backend",
      backend,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { text: "" };
  const err = { text: "" };
  const listening = Promise.withResolvers<void>();
  const line = `Listening on http://127.0.0.1:${port}/`;
  const pumps = Promise.all([
    drain(child.stdout, out, () => {
      if (out.text.includes(line)) listening.resolve();
    }),
    drain(child.stderr, err),
  ]);
  child.status.then(() =>
    listening.reject(new Error(`chat exited:\n${out.text}\n${err.text}`))
  );
  const stop = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
    await child.status;
    await pumps;
  };
  try {
    await withTimeout(
      listening.promise,
      20_000,
      () => `chat did not listen:\n${out.text}\n${err.text}`,
    );
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return { stop };
}

/** Waits until `#status` reads `status` and `#log` holds each of `lines`. */
async function waitFor(page: Page, status: string, lines: string[] = []) {
  const deadline = Date.now() + 10_000;
  let shown: string | null = null;
  let log: string[] = [];
  while (Date.now() < deadline) {
    shown = await page.locator("#status").textContent();
    log = await page.locator("#log > *").allTextContents();
    if (shown === status && lines.every((text) => log.includes(text))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `status ${JSON.stringify(shown)}, log ${
      JSON.stringify(log)
    }; wanted ${status} and ${JSON.stringify(lines)}`,
  );
}

for (const backend of ["native", "engine"]) {
  Deno.test({
    name:
      `chat page in Chromium (${backend}): reconnecting, then open after a kill and restart; a message typed meanwhile arrives once`,
    ignore: !runChromium,
    fn: async () => {
      const port = freePort();
      let server = await startChat(port, backend);
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({
          executablePath: chromiumPath,
          args: [...chromiumArgs],
        });
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(String(error)));
        const response = await page.goto(`http://127.0.0.1:${port}/`);
        assert.equal(response?.status(), 200);
        await page.click("#connect");
        await waitFor(page, "open");
        await page.fill("#message", "before");
        await page.click("#send");
        await waitFor(page, "open", ["before"]);

        await server.stop("SIGKILL");
        await waitFor(page, "reconnecting", ["before"]);
        await page.fill("#message", "typed while down");
        await page.click("#send");

        server = await startChat(port, backend);
        await waitFor(page, "open", ["before", "typed while down"]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const log = await page.locator("#log > *").allTextContents();
        assert.deepEqual(log, ["before", "typed while down"]);
        assert.equal(await page.locator("#members").textContent(), "1");
        assert.deepEqual(errors, []);
      } finally {
        await browser?.close().catch(() => {});
        await server.stop("SIGTERM");
      }
    },
  });
}
