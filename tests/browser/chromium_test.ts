/**
 * The browser client in Chromium (playwright-core), through the bundle the
 * echo sample serves at `/socketry.js`:
 *
 * - the echo page survives its server being killed and started again on
 *   the same port: it shows Reconnecting, then Open; messages typed while
 *   the server was down are delivered once after the reconnect, and past
 *   the queue bound the page shows the client's error;
 * - a server stopped with SIGSTOP is noticed within heartbeat quiet +
 *   timeout, and reconnected to after SIGCONT;
 * - a close with 1008 is not retried (and, as a control, 1011 is).
 *
 * Needs Debian's `chromium` (ignored without it unless SOCKETRY_REQUIRE_PEERS=1).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { webSockets } from "../../mod.ts";
import {
  chromiumArgs,
  chromiumPath,
  fileExists,
  peerAvailable,
} from "../helpers/peers.ts";
import {
  drain,
  freePort,
  logRows,
  waitForPage,
  withTimeout,
} from "../helpers/page.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STARTUP_TIMEOUT = 20_000;

const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

/** The echo sample as a child process on `port`. */
interface EchoServer {
  readonly child: Deno.ChildProcess;
  /** Ends it with `signal` and waits for the exit. */
  stop(signal: Deno.Signal): Promise<void>;
}

async function startEcho(port: number, args: string[]): Promise<EchoServer> {
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
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { text: "" };
  const err = { text: "" };
  const listening = Promise.withResolvers<void>();
  const pumps = Promise.all([
    drain(child.stdout, out, () => {
      if (/^Listening on /m.test(out.text)) listening.resolve();
    }),
    drain(child.stderr, err),
  ]);
  const status = child.status;
  status.then(() =>
    listening.reject(
      new Error(`echo server exited:\n${out.text}\n${err.text}`),
    )
  );
  const stop = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
    await status;
    await pumps;
  };
  try {
    await withTimeout(
      listening.promise,
      STARTUP_TIMEOUT,
      () => `echo server did not listen:\n${out.text}\n${err.text}`,
    );
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return { child, stop };
}

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath,
    args: [...chromiumArgs],
  });
}

/** A page that records uncaught errors (Chromium's own "connection failed" logs are expected). */
async function openPage(browser: Browser, url: string) {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const response = await page.goto(url);
  assert.equal(response?.status(), 200);
  return { page, errors };
}

/** Every log Data cell, in order. */
function cells(page: Page): Promise<string[]> {
  return page.locator("#log td.data").allTextContents();
}

async function send(page: Page, message: string): Promise<void> {
  await page.fill("#message", message);
  await page.click("#send");
}

for (const backend of ["native", "engine"]) {
  Deno.test({
    name:
      `browser client in Chromium (${backend}): the echo page reconnects after a kill and restart and delivers queued messages once`,
    ignore: !runChromium,
    fn: async () => {
      const port = freePort();
      let server = await startEcho(port, ["--backend", backend]);
      let browser: Browser | undefined;
      try {
        browser = await launch();
        const { page, errors } = await openPage(
          browser,
          `http://127.0.0.1:${port}/?maxQueuedMessages=2`,
        );
        await page.click("#connect");
        await waitForPage(page, "Open", ["Connection opened"]);
        await send(page, "before");
        await waitForPage(page, "Open", ["Sent: before", "Received: before"]);

        await server.stop("SIGKILL");
        await waitForPage(page, "Reconnecting", []);
        assert.ok(
          (await cells(page)).some((text) =>
            /^Connection lost \(1006\); reconnecting in \d+ ms \(attempt 1\)$/
              .test(text)
          ),
          JSON.stringify(await logRows(page)),
        );
        await send(page, "while down 1");
        await send(page, "while down 2");
        await send(page, "one too many");
        const refused =
          "Not sent: Cannot send while disconnected: the offline queue is full (2 of 2 messages, 24 + 12 of 1048576 bytes); the message was not queued";
        await waitForPage(page, "Reconnecting", [
          "Queued: while down 1 (sent once connected)",
          "Queued: while down 2 (sent once connected)",
          refused,
        ]);
        assert.equal(
          await page.evaluate("window.echoSocket.stats.queued"),
          2,
        );

        server = await startEcho(port, ["--backend", backend]);
        await waitForPage(page, "Open", [
          "Received: while down 1",
          "Received: while down 2",
        ]);
        // Give a duplicate time to show up before counting.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const log = await cells(page);
        const count = (text: string) => log.filter((t) => t === text).length;
        assert.equal(count("Received: before"), 1);
        assert.equal(count("Received: while down 1"), 1);
        assert.equal(count("Received: while down 2"), 1);
        assert.equal(count("Received: one too many"), 0);
        assert.equal(count("Connection opened"), 2);
        assert.ok(
          log.indexOf("Received: while down 1") <
            log.indexOf("Received: while down 2"),
        );
        const stats = await page.evaluate<
          { attempts: number; drops: number; queued: number }
        >(
          "window.echoSocket.stats",
        );
        assert.equal(stats.drops, 1);
        assert.equal(stats.queued, 0);
        assert.ok(stats.attempts >= 2);
        // Heartbeats were answered, never shown.
        assert.ok(!log.some((text) => text.includes("socketry:")));

        await page.click("#close");
        await waitForPage(page, "Closed", [
          "Connection closed. Code: 1000, Reason: Closing from client",
        ]);
        assert.deepEqual(errors, []);
      } finally {
        await browser?.close().catch(() => {});
        await server.stop("SIGTERM");
      }
    },
  });
}

Deno.test({
  name:
    "browser client in Chromium: a SIGSTOPped server is noticed within heartbeat quiet + timeout and reconnected to after SIGCONT",
  ignore: !runChromium,
  fn: async () => {
    const QUIET = 1000;
    const TIMEOUT = 1000;
    const port = freePort();
    const server = await startEcho(port, []);
    let browser: Browser | undefined;
    let stopped = false;
    try {
      browser = await launch();
      const { page, errors } = await openPage(
        browser,
        `http://127.0.0.1:${port}/?heartbeatInterval=${QUIET}&heartbeatTimeout=${TIMEOUT}&connectTimeout=1500`,
      );
      await page.click("#connect");
      await waitForPage(page, "Open", ["Connection opened"]);
      await page.evaluate(`(() => {
        window.drops = [];
        window.echoSocket.addEventListener("reconnecting", (event) =>
          window.drops.push({ at: Date.now(), reason: event.reason }));
      })()`);
      // Wait for the probe's answer, then a little traffic: the line is known alive.
      await send(page, "alive");
      await waitForPage(page, "Open", ["Received: alive"]);

      const stoppedAt = Date.now();
      server.child.kill("SIGSTOP");
      stopped = true;
      await waitForPage(page, "Reconnecting", []);
      const drops = await page.evaluate<{ at: number; reason: string }[]>(
        "window.drops",
      );
      const noticedAfter = drops[0]!.at - stoppedAt;
      console.log(
        `SIGSTOP noticed after ${noticedAfter} ms (quiet ${QUIET} + timeout ${TIMEOUT})`,
      );
      assert.equal(drops[0]!.reason, "heartbeat timeout");
      assert.ok(
        noticedAfter <= QUIET + TIMEOUT + 250,
        `noticed after ${noticedAfter} ms`,
      );

      // Attempts reach the stopped process's backlog and time out meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      server.child.kill("SIGCONT");
      stopped = false;
      await waitForPage(page, "Open", []);
      await send(page, "after SIGCONT");
      await waitForPage(page, "Open", ["Received: after SIGCONT"]);
      assert.deepEqual(errors, []);
    } finally {
      if (stopped) server.child.kill("SIGCONT");
      await browser?.close().catch(() => {});
      await server.stop("SIGTERM");
    }
  },
});

Deno.test({
  name:
    "browser client in Chromium: a close with 1008 is not retried, one with 1011 is",
  ignore: !runChromium,
  fn: async () => {
    const echoPort = freePort();
    const echo = await startEcho(echoPort, []);
    // A server that accepts every socket and closes it with the code in the query.
    let accepted = 0;
    const refuser = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      webSockets({ path: "/ws" }, (socket, request) => {
        accepted++;
        const code = Number(new URL(request.url).searchParams.get("code"));
        socket.addEventListener(
          "open",
          () => socket.close(code, `closing with ${code}`),
        );
      }),
    );
    let browser: Browser | undefined;
    try {
      browser = await launch();
      const { page, errors } = await openPage(
        browser,
        `http://127.0.0.1:${echoPort}/`,
      );
      const run = (code: number) =>
        page.evaluate<{ events: string[] }>(`(async () => {
          const { ReconnectingSocket } = await import("/socketry.js");
          const events = [];
          const socket = new ReconnectingSocket(
            "ws://127.0.0.1:${refuser.addr.port}/ws?code=${code}",
            { minDelay: 100, maxDelay: 200, heartbeatInterval: 0 },
          );
          for (const type of ["connecting", "open", "reconnecting", "closed"]) {
            socket.addEventListener(type, (event) => events.push(
              type + (event.code === undefined ? "" : " " + event.code + " " + event.reason)));
          }
          await new Promise((resolve) => setTimeout(resolve, 1500));
          socket.close();
          return { events };
        })()`);

      const final = await run(1008);
      assert.deepEqual(final.events, [
        "connecting",
        "open",
        "closed 1008 closing with 1008",
      ]);
      assert.equal(accepted, 1);

      accepted = 0;
      const retried = await run(1011);
      assert.ok(accepted >= 3, `1011: ${accepted} connections`);
      const reconnects = retried.events.filter((e) =>
        e === "reconnecting 1011 closing with 1011"
      );
      assert.ok(reconnects.length >= 2, JSON.stringify(retried.events));
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close().catch(() => {});
      await refuser.shutdown();
      await echo.stop("SIGTERM");
    }
  },
});
