/**
 * End-to-end test of the echo sample (SPEC S4): runs `examples/echo/main.ts`
 * as a child process, drives its page in headless Chromium through
 * playwright-core (Connect, Send, Close Socket), checks the Communication Log
 * row by row, then stops the server with SIGTERM.
 *
 * Needs Debian's `chromium` (ignored without it unless SOCKETRY_REQUIRE_PEERS=1).
 * Leaves a screenshot in `tests/artifacts/echo_page.png`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { chromiumPath, fileExists, peerAvailable } from "../helpers/peers.ts";
import {
  drain,
  freePort,
  logRows,
  waitForPage,
  withTimeout,
} from "../helpers/page.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../artifacts/", import.meta.url));
const SCREENSHOT = `${ARTIFACTS}echo_page.png`;

const STARTUP_TIMEOUT = 20_000;
const EXIT_TIMEOUT = 10_000;

const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

Deno.test({
  name:
    "echo sample: the page connects, echoes a message and closes in Chromium",
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
      /^Listening on (http:\/\/\S+\/)(?: \((?:native|engine) backend\))?$/m;
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
    // The server may exit after the wait below gave up (or after it listened,
    // when rejecting is a no-op): no unhandled rejection either way.
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
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          "--disable-quic",
        ],
      });
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      page.on("console", (message) => {
        // The page has no icon, so Chromium's /favicon.ico request gets the
        // sample's 404, which Chromium reports as a console error.
        const { url } = message.location();
        if (message.type() === "error" && !url.endsWith("/favicon.ico")) {
          pageErrors.push(`${message.text()} (${url})`);
        }
      });

      const origin = `http://127.0.0.1:${port}`;
      const response = await page.goto(`${origin}/`);
      assert.equal(response?.status(), 200);
      assert.equal(await page.title(), "socketry echo");
      assert.equal(await page.locator("#state").textContent(), "Not connected");
      assert.equal(await page.inputValue("#url"), `ws://127.0.0.1:${port}/ws`);
      assert.deepEqual(await logRows(page), []);
      assert.equal(await page.isDisabled("#send"), true);

      await page.click("#connect");
      await waitForPage(page, "Open", ["Connection opened"]);

      const message = `hello from chromium ${crypto.randomUUID().slice(0, 8)}`;
      await page.fill("#message", message);
      await page.click("#send");
      await waitForPage(page, "Open", [
        `Sent: ${message}`,
        `Received: ${message}`,
      ]);

      await page.click("#close");
      const closed =
        "Connection closed. Code: 1000, Reason: Closing from client";
      await waitForPage(page, "Closed", [closed]);

      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      assert.deepEqual(await logRows(page), [
        ["Client", "Server", `Connecting to ws://127.0.0.1:${port}/ws`],
        ["Server", "Client", "Connection opened"],
        ["Client", "Server", `Sent: ${message}`],
        ["Server", "Client", `Received: ${message}`],
        ["Client", "Server", "Closing the socket (1000, Closing from client)"],
        ["Server", "Client", closed],
      ]);
      assert.equal(await page.isDisabled("#send"), true);
      assert.equal(await page.isDisabled("#close"), true);
      assert.equal(await page.isDisabled("#connect"), false);
      assert.deepEqual(pageErrors, []);

      // The server stops with the page still loaded (and its HTTP connection
      // possibly kept alive); the browser is closed in `finally`.
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
