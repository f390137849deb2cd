/**
 * End-to-end test of the echo sample (SPEC S4) in Chromium, on each backend:
 * runs `examples/echo/main.ts` (native; `--backend engine`; `--backend engine
 * --compression`) as a child process, drives its page through playwright-core
 * (Connect, Send, Close Socket), checks the Communication Log row by row,
 * sends a 1 MiB text and a 1 MiB binary message through the page's own
 * `WebSocket` (checking the negotiated extension), then stops the server
 * with SIGTERM.
 *
 * Needs Debian's `chromium` (ignored without it unless SOCKETRY_REQUIRE_PEERS=1).
 * Leaves a screenshot per variant in `tests/artifacts/`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import {
  chromiumArgs,
  chromiumPath,
  fileExists,
  peerAvailable,
} from "../helpers/peers.ts";
import {
  drain,
  echoOnce,
  freePort,
  logRows,
  withTimeout,
} from "../helpers/page.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const STARTUP_TIMEOUT = 20_000;
const EXIT_TIMEOUT = 10_000;

const BIG_ROUND_TRIP = `(async () => {
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
  ws.binaryType = "arraybuffer";
  const messages = [];
  let waiting = null;
  ws.onmessage = (event) => {
    if (waiting) { const resolve = waiting; waiting = null; resolve(event.data); }
    else messages.push(event.data);
  };
  const next = () => messages.length > 0
    ? Promise.resolve(messages.shift())
    : new Promise((resolve, reject) => {
      waiting = resolve;
      setTimeout(() => reject(new Error("no echo within 5 s")), 5000);
    });
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the big-message socket failed"));
  });
  const result = { protocol: ws.protocol, extensions: ws.extensions };

  const text = "\\u20ac\\u{1F600}a".repeat(131072);
  ws.send(text);
  const textEcho = await next();
  result.text = {
    type: typeof textEcho,
    bytes: new TextEncoder().encode(textEcho).byteLength,
    same: textEcho === text,
  };

  const bytes = new Uint8Array(1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
  ws.send(bytes);
  const binaryEcho = await next();
  const echoed = new Uint8Array(binaryEcho);
  result.binary = {
    type: binaryEcho instanceof ArrayBuffer ? "arraybuffer" : typeof binaryEcho,
    bytes: echoed.byteLength,
    same: echoed.length === bytes.length && echoed.every((b, i) => b === bytes[i]),
  };

  ws.close(1000, "big done");
  const event = await closed;
  result.close = { code: event.code, reason: event.reason, wasClean: event.wasClean };
  return JSON.stringify(result);
})()`;

const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

const VARIANTS = [
  { label: "native backend", args: [], screenshot: "echo_page.png" },
  {
    label: "engine backend",
    args: ["--backend", "engine"],
    screenshot: "echo_engine_page.png",
  },
  {
    label: "engine backend with --compression",
    args: ["--backend", "engine", "--compression"],
    screenshot: "echo_engine_page_deflate.png",
  },
];

for (const { label, args, screenshot } of VARIANTS) {
  const compression = args.includes("--compression");
  Deno.test({
    name:
      `echo sample, ${label}: the page echoes, closes and round-trips 1 MiB in Chromium`,
    ignore: !runChromium,
    fn: async () => {
      const port = freePort();
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "examples/echo/main.ts",
          "--port",
          String(port),
          "--hostname",
          "127.0.0.1",
          ...args,
        ],
        cwd: ROOT,
        env: { NO_COLOR: "1" }, // Plain error messages in the captured output.
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let exit: Deno.CommandStatus | undefined;
      const status = child.status.then((status) => exit = status);
      const out = { text: "" };
      const err = { text: "" };
      const output = () =>
        `--- stdout ---\n${out.text}--- stderr ---\n${err.text}`;

      const listening = Promise.withResolvers<string>();
      const listenLine =
        /^Listening on (http:\/\/\S+\/) \((?:native|engine) backend\)$/m;
      const pumps = Promise.all([
        drain(child.stdout, out, () => {
          const match = out.text.match(listenLine);
          if (match) listening.resolve(match[1]!);
        }),
        drain(child.stderr, err),
      ]);
      // Fails the wait as soon as the server dies before listening, with all
      // it printed.
      status.then(() => pumps).catch(() => {}).then(() =>
        listening.reject(
          new Error(
            `Echo server exited (${
              JSON.stringify(exit)
            }) before listening:\n${output()}`,
          ),
        )
      );
      listening.promise.catch(() => {});

      let browser: Browser | undefined;
      try {
        const shownUrl = await withTimeout(
          listening.promise,
          STARTUP_TIMEOUT,
          () =>
            `Echo server did not listen within ${STARTUP_TIMEOUT} ms:\n${output()}`,
        );
        assert.equal(shownUrl, `http://127.0.0.1:${port}/`);

        browser = await chromium.launch({
          executablePath: chromiumPath,
          args: [...chromiumArgs],
        });
        const page = await browser.newPage();
        const pageErrors: string[] = [];
        page.on("pageerror", (error) => pageErrors.push(String(error)));
        page.on("console", (message) => {
          const { url } = message.location();
          if (message.type() === "error" && !url.endsWith("/favicon.ico")) {
            pageErrors.push(`${message.text()} (${url})`);
          }
        });

        const origin = `http://127.0.0.1:${port}`;
        const response = await page.goto(`${origin}/`);
        assert.equal(response?.status(), 200);
        assert.equal(
          response?.headers()["content-type"],
          "text/html; charset=utf-8",
        );
        assert.equal(await page.title(), "socketry echo");
        assert.equal(
          await page.locator("#state").textContent(),
          "Not connected",
        );
        assert.equal(
          await page.inputValue("#url"),
          `ws://127.0.0.1:${port}/ws`,
        );
        assert.deepEqual(await logRows(page), []);
        assert.equal(await page.isDisabled("#send"), true);

        const message = `héllo from chromium ${
          crypto.randomUUID().slice(0, 8)
        }`;
        await echoOnce(page, `ws://127.0.0.1:${port}/ws`, message, screenshot);
        assert.equal(await page.isDisabled("#send"), true);
        assert.equal(await page.isDisabled("#close"), true);
        assert.equal(await page.isDisabled("#connect"), false);

        const big = JSON.parse(
          String(await page.evaluate<string>(BIG_ROUND_TRIP)),
        );
        // Chromium offers permessage-deflate: only the engine with
        // --compression accepts it.
        if (compression) {
          assert.match(big.extensions, /^permessage-deflate/);
          big.extensions = "negotiated";
        }
        assert.deepEqual(big, {
          protocol: "",
          extensions: compression ? "negotiated" : "",
          text: { type: "string", bytes: 1024 * 1024, same: true },
          binary: { type: "arraybuffer", bytes: 1024 * 1024, same: true },
          close: { code: 1000, reason: "big done", wasClean: true },
        });
        assert.deepEqual(pageErrors, []);

        child.kill("SIGTERM");
        const { code, signal } = await withTimeout(
          status,
          EXIT_TIMEOUT,
          () =>
            `Echo server did not exit within ${EXIT_TIMEOUT} ms of SIGTERM:\n${output()}`,
        );
        await pumps;
        assert.equal(
          code,
          0,
          `exit code ${code} (signal ${signal}):\n${output()}`,
        );
        assert.match(out.text, /^SIGTERM: closing 0 socket\(s\)$/m, output());
        assert.match(
          out.text,
          /^Shut down after \d+ socket\(s\) completed$/m,
          output(),
        );
        assert.equal(err.text, "", output());
      } finally {
        await browser?.close().catch(() => {}); // Keep the test's own error.
        if (exit === undefined) {
          try {
            child.kill("SIGKILL");
          } catch {
            // Exited in the meantime.
          }
        }
        await status;
        await pumps.catch(() => {});
      }
    },
  });
}
