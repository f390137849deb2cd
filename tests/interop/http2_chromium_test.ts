/**
 * WebSockets over HTTP/2 (RFC 8441) from a browser: Chromium (through
 * playwright-core) loads the echo page from an in-process
 * `serveEngine({ http2: true, tls })` at `https://localhost:PORT/`, and the
 * page's own `WebSocket` connects, echoes a message and closes.
 *
 * Chromium opens a WebSocket as an extended CONNECT stream when it already
 * has an HTTP/2 connection to the origin whose server advertised
 * `SETTINGS_ENABLE_CONNECT_PROTOCOL`; otherwise it falls back to an HTTP/1.1
 * upgrade on a connection of its own. So the server side asserts that the
 * page came over HTTP/2, that the socket arrived with `httpVersion` "2",
 * and that both share one TCP connection (the same remote `host:port`);
 * the page asserts `nextHopProtocol` "h2". A second test keeps such a
 * socket quiet for longer than the listener's `handshakeTimeout`, which
 * once dropped the whole HTTP/2 connection (1006 in the browser).
 *
 * The test CA is trusted properly, through an NSS database in a temporary
 * HOME (`certutil`, from Debian's `libnss3-tools`); without `certutil` the
 * test falls back to `--ignore-certificate-errors`, with a notice.
 *
 * Needs Debian's `chromium` (ignored without it unless
 * SOCKETRY_REQUIRE_PEERS=1). Leaves `tests/artifacts/echo_http2_page.png`.
 */

import assert from "node:assert/strict";
import { type Browser, chromium } from "playwright-core";
import { ECHO_PAGE } from "../../examples/echo/page.ts";
import { serveSocketryJs } from "../../examples/socketry_js.ts";
import {
  type EngineServer,
  type EngineServerOptions,
  EngineSocket,
  type RequestInfo,
  serveEngine,
} from "../../mod.ts";
import { assertNoOpenHandles } from "../helpers/handles.ts";
import { echoOnce, withTimeout } from "../helpers/page.ts";
import {
  chromiumArgs,
  chromiumPath,
  fileExists,
  peerAvailable,
} from "../helpers/peers.ts";
import { testCertificates } from "../helpers/tls.ts";

const CERTUTIL = "/usr/bin/certutil";

const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

/**
 * A temporary HOME whose NSS database trusts `ca` for TLS servers, as
 * Chromium on Linux reads it; undefined (with a notice) without certutil.
 */
async function trustingHome(ca: string): Promise<string | undefined> {
  if (!fileExists(CERTUTIL)) {
    console.warn(
      "Notice: certutil is missing (apt-get install libnss3-tools): Chromium runs with --ignore-certificate-errors",
    );
    return undefined;
  }
  const home = await Deno.makeTempDir({ prefix: "socketry-chromium-home-" });
  try {
    const db = `${home}/.pki/nssdb`;
    await Deno.mkdir(db, { recursive: true });
    await Deno.writeTextFile(`${home}/ca.pem`, ca);
    for (
      const args of [
        ["-d", `sql:${db}`, "-N", "--empty-password"],
        ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", "socketry-test-ca"]
          .concat(["-i", `${home}/ca.pem`]),
      ]
    ) {
      const { success, stderr } = await new Deno.Command(CERTUTIL, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!success) {
        throw new Error(
          `certutil ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`,
        );
      }
    }
    return home;
  } catch (error) {
    await Deno.remove(home, { recursive: true });
    throw error;
  }
}

/** A loopback listener at `/ws` serving HTTP/2 (and HTTP/1.1) over TLS. */
function overHttp2(cert: string, key: string): EngineServerOptions {
  return {
    port: 0,
    hostname: "127.0.0.1",
    path: "/ws",
    http2: true,
    tls: { cert, key },
  };
}

/**
 * Chromium, headless, trusting `ca` through `trustingHome` (or ignoring
 * certificate errors without certutil). `home` is to be removed after.
 */
async function launchTrusting(
  ca: string,
): Promise<{ browser: Browser; home: string | undefined }> {
  const home = await trustingHome(ca);
  try {
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      timeout: 20_000,
      ...(home === undefined
        ? {}
        : { env: { ...Deno.env.toObject(), HOME: home } }),
      args: [
        ...chromiumArgs,
        ...(home === undefined ? ["--ignore-certificate-errors"] : []),
      ],
    });
    return { browser, home };
  } catch (error) {
    if (home !== undefined) await Deno.remove(home, { recursive: true });
    throw error;
  }
}

/**
 * Runs `body` with a Chromium trusting `ca` and the port `server` listens
 * on; then closes the browser and the server, removes the browser's home,
 * and checks that nothing was left open (node:http2 and Chromium's pipes
 * escape Deno's sanitizers).
 */
async function inTrustingChromium(
  ca: string,
  server: EngineServer,
  body: (browser: Browser, port: number) => Promise<void>,
): Promise<void> {
  let home: string | undefined;
  let browser: Browser | undefined;
  try {
    const { port } = await server.listening;
    ({ browser, home } = await launchTrusting(ca));
    await body(browser, port);
  } finally {
    await browser?.close().catch(() => {}); // Keep the test's own error.
    await server.shutdown();
    if (home !== undefined) await Deno.remove(home, { recursive: true });
  }
  await assertNoOpenHandles();
}

Deno.test({
  name:
    "HTTP/2: Chromium loads the echo page over h2 and its WebSocket echoes over an extended CONNECT on the same connection",
  ignore: !runChromium,
  fn: async () => {
    const { ca, cert, key } = await testCertificates();
    const requests: { path: string; info: RequestInfo }[] = [];
    const sockets: {
      socket: EngineSocket;
      httpVersion: string;
      remoteAddress: string | undefined;
    }[] = [];
    const server = serveEngine(
      overHttp2(cert, key),
      (socket) => {
        if (!(socket instanceof EngineSocket)) throw new Error("not engine");
        // What the socket shows as it arrives.
        sockets.push({
          socket,
          httpVersion: socket.httpVersion,
          remoteAddress: socket.remoteAddress,
        });
        socket.addEventListener("message", ({ data }) => {
          socket.send(data).catch(() => {});
        });
      },
      (request, info) => {
        const { pathname } = new URL(request.url);
        requests.push({ path: pathname, info });
        if (pathname === "/") {
          return new Response(ECHO_PAGE, {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        }
        const script = serveSocketryJs(pathname);
        if (script !== undefined) return script;
        return new Response(null, {
          status: pathname === "/favicon.ico" ? 204 : 404,
        });
      },
    );
    await inTrustingChromium(ca, server, async (browser, port) => {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      page.on("console", (message) => {
        if (message.type() === "error") {
          pageErrors.push(`${message.text()} (${message.location().url})`);
        }
      });

      const origin = `https://localhost:${port}`;
      // Without heartbeats: the server's counts below are the page's messages.
      const response = await page.goto(`${origin}/?heartbeatInterval=0`);
      assert.equal(response?.status(), 200);
      assert.equal(await page.title(), "socketry echo");
      assert.equal(
        await page.evaluate<string>(
          `performance.getEntriesByType("navigation")[0].nextHopProtocol`,
        ),
        "h2",
      );
      assert.equal(await page.inputValue("#url"), `wss://localhost:${port}/ws`);

      const message = `héllo over h2 ${crypto.randomUUID().slice(0, 8)}`;
      await echoOnce(
        page,
        `wss://localhost:${port}/ws`,
        message,
        "echo_http2_page.png",
      );
      assert.deepEqual(pageErrors, []);

      // The server's view: the page over HTTP/2, the socket over HTTP/2
      // (an extended CONNECT: an HTTP/1.1 upgrade would say "1.1"), both
      // from the same client host:port, that is on one TCP connection.
      const pageRequest = requests.find(({ path }) => path === "/");
      assert.ok(pageRequest, JSON.stringify(requests));
      assert.equal(pageRequest.info.httpVersion, "2");
      assert.match(pageRequest.info.remoteAddress ?? "", /^127\.0\.0\.1:\d+$/);
      assert.equal(sockets.length, 1);
      const [{ socket, ...shown }] = sockets as [(typeof sockets)[0]];
      assert.deepEqual(shown, {
        httpVersion: "2",
        remoteAddress: pageRequest.info.remoteAddress,
      });
      const ended = await withTimeout(
        socket.closed,
        5000,
        () => "the server socket did not close",
      );
      assert.deepEqual(
        { code: ended.code, reason: ended.reason, wasClean: ended.wasClean },
        { code: 1000, reason: "Closing from client", wasClean: true },
      );
      assert.equal(socket.stats.messagesReceived, 1);
      assert.equal(socket.stats.messagesSent, 1);
    });
  },
});

Deno.test({
  name:
    "HTTP/2: Chromium's WebSocket over an extended CONNECT stays open through a quiet spell longer than handshakeTimeout",
  ignore: !runChromium,
  fn: async () => {
    const { ca, cert, key } = await testCertificates();
    const versions: string[] = [];
    const server = serveEngine(
      { ...overHttp2(cert, key), handshakeTimeout: 1000 },
      (socket) => {
        if (!(socket instanceof EngineSocket)) throw new Error("not engine");
        versions.push(socket.httpVersion);
        socket.addEventListener("message", ({ data }) => {
          socket.send(data).catch(() => {});
        });
      },
      () => new Response("<!doctype html><title>quiet</title>"),
    );
    await inTrustingChromium(ca, server, async (browser, port) => {
      const page = await browser.newPage();
      await page.goto(`https://localhost:${port}/`);
      // Opened at once, over the page's HTTP/2 connection; then 3 s of
      // silence, three times handshakeTimeout, before a message.
      const answer = await page.evaluate<string>(`new Promise((resolve) => {
        const ws = new WebSocket("wss://localhost:${port}/ws");
        ws.onopen = () => setTimeout(() => ws.send("after the quiet"), 3000);
        ws.onmessage = ({ data }) => {
          ws.close(1000);
          resolve(data);
        };
        ws.onclose = ({ code }) => resolve("closed with " + code);
      })`);
      assert.equal(answer, "after the quiet");
      assert.deepEqual(versions, ["2"]);
    });
  },
});
